"""What every chart the bot sends shares: a canvas sized for a phone, and text drawn right.

**Phones.** Telegram shows a photo at the width of the chat and opens it at the width of the
screen; it keeps at most 1280 px on the long side. So a chart is 1080 px wide (a 6-inch phone's
width in pixels) and at most 1280 px high, and its smallest text is 26 px (about 9 sp on that
screen, the size of a phone's secondary text), labels 35 px and titles 40 px.

**Arabic.** Matplotlib from 3.11 lays text out with libraqm, which joins Arabic letters and
applies the Unicode bidi algorithm, but it takes the paragraph direction from the first strong
letter, so "١٢ (٤٥٪)" (no letter at all) came out left to right as "(٤٥٪) ١٢". Text of a
right-to-left chart is therefore framed by right-to-left marks (U+200F), which make its
paragraph right-to-left. Before 3.11 matplotlib neither joins nor reorders: there the text is
shaped with arabic-reshaper and put in visual order with python-bidi (base direction
right-to-left), which is why both libraries are dependencies. The font is DejaVu Sans, which
matplotlib ships inside its wheel and which has the Arabic letters and Arabic-Indic digits:
nothing is downloaded and nothing is needed from the system.

**Digits.** One style per language, as in the catalogues: Arabic-Indic (٠-٩) in Arabic.
"""

from __future__ import annotations

import functools
import re
from io import BytesIO

import arabic_reshaper
from bidi import get_display
from matplotlib import ft2font
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

WIDTH_PX = 1080
MAX_HEIGHT_PX = 1280
DPI = 180  # so 1 pt = 2.5 px
FONT = "DejaVu Sans"
TITLE_PT, LABEL_PT, SMALL_PT = 16.0, 14.0, 10.5
INK, MUTED, BAR, TRACK = "#1d1d1f", "#5a5a5f", "#1f6f8b", "#e3ecf0"

_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
_MARKS = dict.fromkeys(map(ord, "\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u202a\u202b\u202c"))
_ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
RIGHT_TO_LEFT_MARK = "\u200f"
# libraqm text layout (matplotlib >= 3.11) shapes Arabic and applies the bidi algorithm itself.
NATIVE_TEXT_LAYOUT = hasattr(ft2font.FT2Font, "_layout")


def pixels(points: float) -> float:
    return points * DPI / 72


def line_height(points: float) -> float:
    """Pixels between two lines of text at `points`."""
    return pixels(points) * 1.3


def localised_digits(language: str, text: str) -> str:
    """Latin digits as the language writes them (Arabic-Indic in Arabic)."""
    return text.translate(_ARABIC_INDIC) if language == "ar" else text


def for_display(text: str, right_to_left: bool | None = None) -> str:
    """One line as matplotlib must be given it to draw it right.

    `right_to_left`: the paragraph direction (an Arabic chart's); None takes it from the text
    (right-to-left if it has an Arabic letter). Directional isolates and marks of the
    catalogue are removed (matplotlib draws them as boxes before 3.11)."""
    text = text.translate(_MARKS)
    if right_to_left is None:
        right_to_left = bool(_ARABIC.search(text))
    if NATIVE_TEXT_LAYOUT:
        return f"{RIGHT_TO_LEFT_MARK}{text}{RIGHT_TO_LEFT_MARK}" if right_to_left else text
    if not right_to_left and not _ARABIC.search(text):
        return text
    return str(get_display(arabic_reshaper.reshape(text), base_dir="R" if right_to_left else "L"))


@functools.cache
def _measurer() -> RendererAgg:
    return RendererAgg(16, 16, DPI)  # type: ignore[no-untyped-call]


@functools.lru_cache(maxsize=4096)
def text_width(text: str, points: float, *, bold: bool = False) -> float:
    """Width in pixels of one line as drawn (Arabic shaped)."""
    properties = FontProperties(family=FONT, size=points, weight="bold" if bold else "normal")
    measure = _measurer().get_text_width_height_descent
    width, _height, _descent = measure(  # type: ignore[no-untyped-call]
        for_display(text), properties, ismath=False
    )
    return float(width)


def fitted_lines(
    text: str, width_px: float, points: float, max_lines: int, *, bold: bool = False
) -> list[str]:
    """`text` broken at spaces into lines no wider than `width_px` (logical order); a word
    too long for a line is cut; past `max_lines` the last line ends in "…"."""
    return list(_fitted_lines(" ".join(text.split()), width_px, points, max_lines, bold))


@functools.lru_cache(maxsize=1024)
def _fitted_lines(
    text: str, width_px: float, points: float, max_lines: int, bold: bool
) -> tuple[str, ...]:
    if text_width(text, points, bold=bold) <= width_px:
        return (text,)
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and text_width(candidate, points, bold=bold) <= width_px:
            lines[-1] = candidate
            continue
        while len(word) > 1 and text_width(word, points, bold=bold) > width_px:
            cut = len(word) - 1
            while cut > 1 and text_width(word[:cut], points, bold=bold) > width_px:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        lines.append(word)
    lines = lines or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and text_width(f"{last}…", points, bold=bold) > width_px:
            last = last[:-1]
        lines[-1] = f"{last.rstrip()}…"
    return tuple(lines)


def phone_canvas(height_px: float) -> tuple[Figure, Axes]:
    """A white 1080-px-wide figure with one invisible axes in pixels: x 0 → 1080 left to
    right, y 0 → `height_px` top to bottom."""
    height_px = min(max(height_px, 200.0), MAX_HEIGHT_PX)
    figure = Figure(figsize=(WIDTH_PX / DPI, height_px / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, WIDTH_PX)
    axes.set_ylim(height_px, 0)
    axes.set_axis_off()
    return figure, axes


def png_bytes(figure: Figure) -> bytes:
    out = BytesIO()
    figure.savefig(out, format="png", dpi=DPI, facecolor="white")
    return out.getvalue()
