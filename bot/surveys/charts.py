"""Bar charts of survey results as PNG for a phone, in Arabic and English.

One option per row, as U-Report draws them: the option's label across the width, its count and
percentage at the other end of the line, and under it a bar over a pale track that stands for
everyone who answered (so the bars of a multiple-choice question may together pass 100%). In
Arabic everything is mirrored: labels on the right and bars growing from right to left. A
suppressed count ("<5", in Arabic "أقل من ٥", which bidi cannot turn into "5>"; or "hidden")
has an empty track and no percentage. Canvas, fonts and text direction: `bot.engines.charts`.

The words come ready from the catalogue (`bot.surveys.album`); this module only draws.
"""

from __future__ import annotations

from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

from bot.engines.charts import (
    BAR,
    FONT,
    INK,
    LABEL_PT,
    MAX_HEIGHT_PX,
    MUTED,
    SMALL_PT,
    TITLE_PT,
    TRACK,
    WIDTH_PX,
    fitted_lines,
    for_display,
    line_height,
    phone_canvas,
    png_bytes,
    text_width,
)

__all__ = ["ChartRow", "ChartWords", "bar_chart_png", "for_display", "split_rows"]

MARGIN = 48.0
CONTENT = WIDTH_PX - 2 * MARGIN
LABEL_LINES, TITLE_LINES, FOOTER_LINES = 2, 3, 3
BAR_HEIGHT, ROW_GAP, FIGURE_GAP = 34.0, 26.0, 28.0


@dataclass(frozen=True)
class ChartRow:
    label: str
    figure: str  # "12 (45%)", "<5", "hidden": in the reader's digits
    share: float | None  # of everyone who answered, 0..1; None when the count is not shown


@dataclass(frozen=True)
class ChartWords:
    title: str
    subtitle: str  # e.g. "16 answered · percentages of those who answered"
    footer: str
    right_to_left: bool


def _label_lines(row: ChartRow) -> list[str]:
    room = CONTENT - text_width(row.figure, LABEL_PT, bold=True) - FIGURE_GAP
    return fitted_lines(row.label, room, LABEL_PT, LABEL_LINES)


def _title_lines(words: ChartWords) -> list[str]:
    return fitted_lines(words.title, CONTENT, TITLE_PT, TITLE_LINES, bold=True)


def _small_lines(text: str) -> list[str]:
    return fitted_lines(text, CONTENT, SMALL_PT, FOOTER_LINES)


def _row_height(row: ChartRow) -> float:
    return len(_label_lines(row)) * line_height(LABEL_PT) + 8 + BAR_HEIGHT + ROW_GAP


def _frame_height(words: ChartWords) -> float:
    title = len(_title_lines(words)) * line_height(TITLE_PT)
    subtitle = len(_small_lines(words.subtitle)) * line_height(SMALL_PT)
    footer = len(_small_lines(words.footer)) * line_height(SMALL_PT)
    return MARGIN + title + 10 + subtitle + 30 + 4 + footer + MARGIN


def split_rows(rows: list[ChartRow], words: ChartWords) -> list[list[ChartRow]]:
    """The rows in as many charts as it takes for each to fit on a phone (at most 1280 px
    high); at least one row in each."""
    budget = MAX_HEIGHT_PX - _frame_height(words)
    parts: list[list[ChartRow]] = [[]]
    used = 0.0
    for row in rows:
        height = _row_height(row)
        if parts[-1] and used + height > budget:
            parts.append([])
            used = 0.0
        parts[-1].append(row)
        used += height
    return parts


def _text(
    axes: Axes,
    x: float,
    y: float,
    text: str,
    words: ChartWords,
    *,
    size: float,
    ha: str,
    color: str,
    weight: str = "normal",
) -> None:
    axes.text(
        x,
        y,
        for_display(text, words.right_to_left),
        fontsize=size,
        fontfamily=FONT,
        va="top",
        ha=ha,
        color=color,
        weight=weight,
    )


def bar_chart_png(rows: list[ChartRow], words: ChartWords) -> bytes:
    """One chart of `rows` (which `split_rows` made fit)."""
    height = _frame_height(words) + sum(_row_height(row) for row in rows)
    figure, axes = phone_canvas(height)
    rtl = words.right_to_left
    start, end = (WIDTH_PX - MARGIN, MARGIN) if rtl else (MARGIN, WIDTH_PX - MARGIN)
    near, far = ("right", "left") if rtl else ("left", "right")
    y = MARGIN
    for line in _title_lines(words):
        _text(axes, start, y, line, words, size=TITLE_PT, ha=near, color=INK, weight="bold")
        y += line_height(TITLE_PT)
    y += 10
    for line in _small_lines(words.subtitle):
        _text(axes, start, y, line, words, size=SMALL_PT, ha=near, color=MUTED)
        y += line_height(SMALL_PT)
    y += 30
    track = CONTENT
    for row in rows:
        _text(axes, end, y, row.figure, words, size=LABEL_PT, ha=far, color=INK, weight="bold")
        for line in _label_lines(row):
            _text(axes, start, y, line, words, size=LABEL_PT, ha=near, color=INK)
            y += line_height(LABEL_PT)
        y += 8
        axes.add_patch(Rectangle((MARGIN, y), track, BAR_HEIGHT, color=TRACK, linewidth=0))
        if row.share:
            length = max(track * min(row.share, 1.0), 4.0)
            left = WIDTH_PX - MARGIN - length if rtl else MARGIN
            axes.add_patch(Rectangle((left, y), length, BAR_HEIGHT, color=BAR, linewidth=0))
        y += BAR_HEIGHT + ROW_GAP
    y += 4
    for line in _small_lines(words.footer):
        _text(axes, start, y, line, words, size=SMALL_PT, ha=near, color=MUTED)
        y += line_height(SMALL_PT)
    return png_bytes(figure)
