"""Bar charts of survey results as PNG, readable in Arabic and English.

Matplotlib before 3.11 draws glyphs left to right and does not join Arabic letters, so there
Arabic text is shaped (arabic-reshaper) and put in visual order (python-bidi) before drawing.
Matplotlib 3.11 lays text out with libraqm, which shapes and reorders by itself (doing it
twice would reverse the text again), so there the text is given in logical order. DejaVu
Sans, matplotlib's default font, has the Arabic glyphs. In Arabic the bars grow from right to left
with their labels on the right. Suppressed counts are drawn as an empty bar marked with the
reader's wording ("<5", in Arabic "أقل من ٥", which bidi cannot turn into "5>").
"""

from __future__ import annotations

import re
import textwrap
from io import BytesIO

import arabic_reshaper
from bidi import get_display
from matplotlib import ft2font
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.engines.disclosure import Wording
from bot.surveys.results import ChoiceResult

_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
_ISOLATES = dict.fromkeys(map(ord, "\u2066\u2067\u2068\u2069\u200e\u200f\u061c"))
LABEL_WIDTH = 28
# libraqm text layout (matplotlib >= 3.11) shapes Arabic and applies the bidi algorithm itself.
NATIVE_TEXT_LAYOUT = hasattr(ft2font.FT2Font, "_layout")


def for_display(text: str) -> str:
    """Text as matplotlib must draw it: Arabic shaped and in visual (right-to-left) order."""
    text = text.translate(_ISOLATES)
    if NATIVE_TEXT_LAYOUT or not _ARABIC.search(text):
        return text
    return str(get_display(arabic_reshaper.reshape(text)))


def _wrapped(text: str, width: int) -> str:
    # Wrap in logical order first, then shape each line: bidi reordering is per line.
    return "\n".join(for_display(line) for line in textwrap.wrap(text, width) or [""])


def choice_chart_png(
    result: ChoiceResult, language: str, *, caption: str, words: Wording
) -> bytes:
    """A horizontal bar chart of how many people chose each option."""
    question = result.question
    labels = [_wrapped(option.labels[language], LABEL_WIDTH) for option in question.options]
    values = [count.value or 0 for count in result.counts]
    height = 1.6 + 0.55 * max(len(labels), 2)
    figure = Figure(figsize=(8, height), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    positions = list(range(len(labels)))
    bars = axes.barh(positions, values, color="#2f6f8f")
    axes.set_yticks(positions, labels)
    axes.invert_yaxis()  # first option on top
    right_to_left = language == "ar"
    if right_to_left:
        axes.yaxis.tick_right()
    top = max([*values, 1])
    for bar, count in zip(bars, result.counts, strict=True):
        axes.text(
            bar.get_width() + top * 0.01,
            bar.get_y() + bar.get_height() / 2,
            for_display(words.of(count)),
            va="center",
            ha="right" if right_to_left else "left",
            fontsize=10,
        )
    axes.set_xlim((top * 1.15, 0) if right_to_left else (0, top * 1.15))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(_wrapped(question.labels[language], 60), fontsize=12)
    figure.text(0.5, 0.01, for_display(caption), ha="center", fontsize=9, color="#555555")
    for side in ("top", "left" if right_to_left else "right"):
        axes.spines[side].set_visible(False)
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    out = BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
