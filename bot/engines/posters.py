"""Printable A4 posters (PNG) for a session or a survey: the title in Arabic and English, the
date and place, and a large QR code of the bot link that opens it.

The page is 1240 × 1754 pixels with 150 dpi recorded in the file, so it prints as A4. Text is
drawn with DejaVu Sans, the font matplotlib (a runtime dependency) ships, which has the Arabic
glyphs; nothing is fetched at run time. Pillow's basic layout draws glyphs left to right, so
Arabic is shaped (arabic-reshaper) and put in visual order (python-bidi) first, line by line
after wrapping. Every line is centred, so no line depends on the paragraph direction.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import arabic_reshaper
import matplotlib
from bidi import get_display
from PIL import Image, ImageDraw, ImageFont

from bot.engines import qr

PAGE_WIDTH, PAGE_HEIGHT = 1240, 1754  # A4 at 150 dpi
DPI = 150
MARGIN = 90
QR_SIDE = 820  # about 14 cm printed: scans from a few metres
INK = (20, 33, 43)
ACCENT = (47, 111, 143)
MUTED = (85, 85, 85)
_FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
_MARKS = dict.fromkeys(map(ord, "\u2066\u2067\u2068\u2069\u200e\u200f\u061c"))


@dataclass(frozen=True)
class PosterText:
    """What the poster says in one language."""

    title: str
    details: tuple[str, ...]  # date and time, place
    call_to_action: str


@dataclass(frozen=True)
class Poster:
    arabic: PosterText
    english: PosterText
    url: str
    footer: str


def _font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(_FONTS / name), size, layout_engine=ImageFont.Layout.BASIC)


def visual(text: str) -> str:
    """Text as drawn left to right: direction marks removed, Arabic shaped and reordered."""
    return str(get_display(arabic_reshaper.reshape(text.translate(_MARKS))))


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Lines (in logical order) that each fit `width` pixels once drawn."""
    lines: list[str] = []
    current = ""
    for word in text.translate(_MARKS).split():
        candidate = f"{current} {word}".strip()
        if current and font.getlength(visual(candidate)) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines or [""]


class _Page:
    def __init__(self) -> None:
        self.image = Image.new("RGB", (PAGE_WIDTH, PAGE_HEIGHT), "white")
        self.draw = ImageDraw.Draw(self.image)
        self.y = MARGIN

    def centred(
        self, text: str, size: int, *, bold: bool = False, fill: tuple[int, int, int] = INK
    ) -> None:
        font = _font(size, bold=bold)
        for line in _wrap(text, font, PAGE_WIDTH - 2 * MARGIN):
            drawn = visual(line)
            width = font.getlength(drawn)
            self.draw.text(((PAGE_WIDTH - width) / 2, self.y), drawn, font=font, fill=fill)
            self.y += int(size * 1.45)

    def gap(self, pixels: int) -> None:
        self.y += pixels


def poster_png(poster: Poster) -> bytes:
    page = _Page()
    page.draw.rectangle((0, 0, PAGE_WIDTH, 24), fill=ACCENT)
    page.gap(10)
    page.centred(poster.arabic.title, 62, bold=True)
    page.centred(poster.english.title, 52, bold=True, fill=ACCENT)
    page.gap(16)
    for arabic, english in zip(poster.arabic.details, poster.english.details, strict=True):
        page.centred(arabic, 34)
        page.centred(english, 30, fill=MUTED)
        page.gap(6)
    code = Image.open(io.BytesIO(qr.qr_png(poster.url, scale=1))).convert("L")
    modules = code.width
    side = (QR_SIDE // modules) * modules  # whole pixels per module: sharp edges
    room = PAGE_HEIGHT - page.y - 330
    if room < side:
        side = max((room // modules) * modules, modules * 8)
    code = code.resize((side, side), Image.Resampling.NEAREST)
    page.gap(10)
    page.image.paste(code, ((PAGE_WIDTH - side) // 2, page.y))
    page.y += side + 10
    page.centred(poster.arabic.call_to_action, 36, bold=True)
    page.centred(poster.english.call_to_action, 32, bold=True, fill=ACCENT)
    page.gap(8)
    page.centred(poster.url, 28, fill=MUTED)
    page.draw.rectangle((0, PAGE_HEIGHT - 24, PAGE_WIDTH, PAGE_HEIGHT), fill=ACCENT)
    footer_font = _font(24)
    footer = visual(poster.footer)
    page.draw.text(
        ((PAGE_WIDTH - footer_font.getlength(footer)) / 2, PAGE_HEIGHT - 70),
        footer,
        font=footer_font,
        fill=MUTED,
    )
    buffer = io.BytesIO()
    page.image.save(buffer, format="PNG", dpi=(DPI, DPI), optimize=True)
    return buffer.getvalue()
