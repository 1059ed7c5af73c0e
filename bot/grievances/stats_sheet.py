"""`/stats xlsx`: the figures of /stats as a spreadsheet (and the same table as CSV), written by
`bot.engines.spreadsheets` like every export: frozen header, autofilter, widths, number cells
(a count under the threshold is the reader's "<5" or "hidden", as in the chat), each code with
its label in the staff member's language beside it, right-to-left in Arabic, optional HXL row.

Sheets: `figures` (one row per status, topic and governorate count), `summary` (totals and
median hours), and for `/stats GOVERNORATE xlsx` `trend` (reports per topic and week, the week
as a date cell, suppressed weeks left empty).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.engines.disclosure import Figure, Wording
from bot.engines.spreadsheets import CellValue, Column, Kind, Spreadsheet, csv_bytes
from bot.grievances.directory import category
from bot.grievances.stats import RESTRICTED, CaseStats, Cell, Trend
from messages import Catalogue

_FIGURE_COLUMNS: tuple[tuple[str, Kind, str], ...] = (
    ("dimension", "code", "#meta+dimension+code"),
    ("dimension_label", "label", "#meta+dimension+name"),
    ("value", "code", "#group+code"),
    ("value_label", "label", "#group+name"),
    ("cases", "number", "#affected+cases"),
)


@dataclass(frozen=True)
class StatsFiles:
    xlsx_name: str
    xlsx: bytes
    csv_name: str
    csv: bytes


class _Words:
    def __init__(self, catalogue: Catalogue, language: str, words: Wording) -> None:
        self.catalogue, self.language, self.words = catalogue, language, words

    def plain(self, key: str) -> str:
        return self.catalogue.plain(self.language, key)

    def label(self, dimension: str, code: str) -> str:
        if code == RESTRICTED:
            return self.plain("privacy.restricted")
        if dimension == "category":
            return category(code).labels.get(self.language, code)
        key = {"status": f"grievances.status.{code}", "governorate": f"governorate.{code}"}[
            dimension
        ]
        return self.plain(key) if self.catalogue.has(key) else code

    def figure(self, count: Figure) -> CellValue:
        if count.value is not None and not count.hidden:
            return count.value
        return self.words.of(count)


def _figure_rows(figures: CaseStats, words: _Words) -> list[list[CellValue]]:
    rows: list[list[CellValue]] = []
    parts: tuple[tuple[str, tuple[Cell, ...]], ...] = (
        ("status", figures.by_status),
        ("category", figures.by_category),
        ("governorate", figures.by_governorate),
    )
    for dimension, cells in parts:
        dimension_label = words.plain(f"moderation.stats_sheet.{dimension}")
        for cell in cells:
            rows.append(
                [
                    dimension,
                    dimension_label,
                    cell.key,
                    words.label(dimension, cell.key),
                    words.figure(cell.count),
                ]
            )
    return rows


def stats_files(
    figures: CaseStats,
    trend: Trend | None,
    *,
    catalogue: Catalogue,
    language: str,
    words: Wording,
    stamp: str,
    hxl: bool = False,
) -> StatsFiles:
    """The XLSX (figures, summary, trend) and the figures as CSV (UTF-8 with BOM)."""
    said = _Words(catalogue, language, words)
    columns = [
        Column(
            said.plain(f"moderation.stats_sheet.{name}") if kind == "label" else name, kind, tag
        )
        for name, kind, tag in _FIGURE_COLUMNS
    ]
    rows = _figure_rows(figures, said)
    book = Spreadsheet(timezone=catalogue.timezone, right_to_left=language == "ar", hxl=hxl)
    book.table("figures", columns, rows)
    summary: list[list[CellValue]] = [
        ["total", said.plain("moderation.stats_sheet.total"), figures.total],
        ["open", said.plain("moderation.stats_sheet.open"), figures.open_cases],
        ["overdue", said.plain("moderation.stats_sheet.overdue"), figures.overdue],
        [
            "median_ack_hours",
            said.plain("moderation.stats_sheet.median_ack_hours"),
            None if figures.median_ack_hours is None else round(figures.median_ack_hours, 1),
        ],
        [
            "median_resolve_hours",
            said.plain("moderation.stats_sheet.median_resolve_hours"),
            None
            if figures.median_resolve_hours is None
            else round(figures.median_resolve_hours, 1),
        ],
    ]
    book.table(
        "summary",
        [
            Column("measure", "code", "#indicator+code"),
            Column(said.plain("moderation.stats_sheet.measure"), "label", "#indicator+name"),
            Column("value", "number", "#indicator+value+num"),
        ],
        summary,
    )
    if trend is not None:
        governorate = said.label("governorate", trend.governorate)
        trend_rows: list[list[CellValue]] = [
            [week, trend.governorate, governorate, code, said.label("category", code), count]
            for code, counts in trend.series.items()
            for week, count in zip(trend.weeks, counts, strict=True)
        ]
        book.table(
            "trend",
            [
                Column("week", "date", "#date+week_start"),
                Column("governorate", "code", "#adm1+code"),
                Column(said.plain("moderation.stats_sheet.governorate"), "label", "#adm1+name"),
                Column("category", "code", "#sector+code"),
                Column(said.plain("moderation.stats_sheet.category"), "label", "#sector+name"),
                Column("reports", "number", "#affected+cases"),
            ],
            trend_rows,
        )
    return StatsFiles(
        f"grievance-stats-{stamp}.xlsx",
        book.to_bytes(),
        f"grievance-stats-{stamp}.csv",
        csv_bytes(columns, rows, timezone=catalogue.timezone, hxl=hxl),
    )
