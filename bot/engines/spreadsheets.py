"""Every spreadsheet the bot sends (attendees, survey responses, grievance cases, statistics)
is written here, so they all open the same way in Excel, LibreOffice and Google Sheets.

- **XLSX**: the header row is bold and frozen, with an autofilter over the whole table;
  columns get widths from their header and content (or their kind, for streamed sheets);
  numbers are number cells and moments are date-time cells in `TIMEZONE` (spreadsheets have no
  time zones, so the local wall time is written, never UTC text); an Arabic sheet is
  right-to-left. Written in openpyxl's write-only mode, so a sheet of 100,000 rows takes the
  memory of a few.
- **CSV**: UTF-8 with a byte-order mark (so Excel reads Arabic), moments as
  `YYYY-MM-DD HH:MM` in `TIMEZONE`.
- **Formula injection** is guarded in every cell: text is always a text cell in the XLSX
  (never a formula, whatever it starts with), and in the CSV text starting with `=`, `+`,
  `-`, `@`, a tab or a carriage return is prefixed with `'` (OWASP's advice), unless it is a
  plain number such as `-3`.
- **Codes and labels**: a coded value (status, category, governorate...) is written as its
  code, and the caller adds a label column beside it in the exporting staff member's language
  (`Column(kind="code")` then `Column(kind="label")`), so formulas can use the stable code and
  people read the label.
- **HXL** (optional): a row of Humanitarian Exchange Language hashtags under the header
  (`#adm1+name`, `#sector`, `#date+reported`...), which humanitarian data tools use to join
  tables; the header row stays first and frozen with it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Literal
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

Kind = Literal["text", "number", "datetime", "date", "code", "label"]
CellValue = str | int | float | Decimal | datetime | date | bool | None

DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
CSV_DATETIME = "%Y-%m-%d %H:%M"
MIN_WIDTH, MAX_WIDTH = 8, 50
_KIND_WIDTH = {"datetime": 17, "date": 11, "number": 9, "code": 12}
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_SAMPLE_ROWS = 500
_HEADER_FONT = Font(bold=True)
_HXL_FONT = Font(italic=True, color="555555")
_HEADER_FILL = PatternFill("solid", fgColor="DDE7EE")


@dataclass(frozen=True)
class Column:
    header: str
    kind: Kind = "text"
    hxl: str = ""  # e.g. "#adm1+name"; written only when the HXL row is asked for


def guard(text: str) -> str:
    """Text for a CSV cell that no spreadsheet evaluates as a formula."""
    if text[:1] in _DANGEROUS and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        Decimal(text.strip())
    except InvalidOperation:
        return False
    return bool(text.strip())


def _local(moment: datetime, timezone: ZoneInfo) -> datetime:
    if moment.tzinfo is None:  # stored as UTC without a zone (SQLite)
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(timezone).replace(tzinfo=None, microsecond=0)


def _text_width(value: CellValue) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16
    return max((len(line) for line in str(value).splitlines()), default=0)


def column_widths(columns: Sequence[Column], sample: Iterable[Sequence[CellValue]]) -> list[int]:
    """A width per column from its header, its kind and the first rows of content."""
    widths = [max(len(c.header) + 2, _KIND_WIDTH.get(c.kind, MIN_WIDTH)) for c in columns]
    for number, row in enumerate(sample):
        if number >= _SAMPLE_ROWS:
            break
        for index, value in enumerate(row[: len(widths)]):
            widths[index] = max(widths[index], _text_width(value) + 2)
    return [min(max(width, MIN_WIDTH), MAX_WIDTH) for width in widths]


class Sheet:
    """One worksheet being written: `append` rows, the workbook finishes it on save."""

    def __init__(
        self,
        workbook: Spreadsheet,
        title: str,
        columns: Sequence[Column],
        sample: Sequence[Sequence[CellValue]],
    ) -> None:
        self.columns = tuple(columns)
        self.rows = 0
        self._timezone = workbook.timezone
        self._sheet = workbook.book.create_sheet(_sheet_title(title, workbook.book.sheetnames))
        sheet = self._sheet
        sheet.sheet_view.rightToLeft = workbook.right_to_left
        header_rows = 2 if workbook.hxl else 1
        sheet.freeze_panes = f"A{header_rows + 1}"
        for index, width in enumerate(column_widths(self.columns, sample), start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.append([self._header(column.header) for column in self.columns])
        if workbook.hxl:
            sheet.append([self._hxl(column.hxl) for column in self.columns])
        self._header_rows = header_rows

    def _header(self, text: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(self._sheet, value=text)
        cell.data_type = "s"
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        return cell

    def _hxl(self, tag: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(self._sheet, value=tag)
        cell.data_type = "s"
        cell.font = _HXL_FONT
        return cell

    def _cell(self, value: CellValue, kind: Kind) -> WriteOnlyCell | None:
        if value is None or value == "":
            return None
        cell = WriteOnlyCell(self._sheet)
        if isinstance(value, datetime):
            cell.value = _local(value, self._timezone)
            cell.number_format = DATETIME_FORMAT
        elif isinstance(value, date):
            cell.value = value
            cell.number_format = DATE_FORMAT
        elif isinstance(value, int | float):  # bool is an int
            cell.value = value
        elif isinstance(value, Decimal):
            cell.value = float(value)
        else:
            # Text stays text: a cell typed "s" is never evaluated, whatever it starts with.
            cell.value = str(value)
            cell.data_type = "s"
        return cell

    def append(self, row: Sequence[CellValue]) -> None:
        kinds = [column.kind for column in self.columns]
        self._sheet.append(
            [self._cell(value, kind) for value, kind in zip(row, kinds, strict=False)]
        )
        self.rows += 1

    def finish(self) -> None:
        last_column = get_column_letter(max(len(self.columns), 1))
        last_row = self._header_rows + self.rows
        self._sheet.auto_filter.ref = f"A1:{last_column}{max(last_row, 2)}"


class Spreadsheet:
    """An XLSX workbook of one or more sheets, all in the exporting person's direction."""

    def __init__(self, *, timezone: ZoneInfo, right_to_left: bool, hxl: bool = False) -> None:
        self.timezone = timezone
        self.right_to_left = right_to_left
        self.hxl = hxl
        self.book = Workbook(write_only=True)
        self._sheets: list[Sheet] = []

    def sheet(
        self,
        title: str,
        columns: Sequence[Column],
        sample: Sequence[Sequence[CellValue]] = (),
    ) -> Sheet:
        """A new sheet; `sample` (rows to come, or their first few) sets the column widths."""
        sheet = Sheet(self, title, columns, sample)
        self._sheets.append(sheet)
        return sheet

    def table(
        self, title: str, columns: Sequence[Column], rows: Sequence[Sequence[CellValue]]
    ) -> Sheet:
        """A whole sheet at once."""
        sheet = self.sheet(title, columns, rows)
        for row in rows:
            sheet.append(row)
        return sheet

    def save(self, target: Path | IO[bytes]) -> None:
        for sheet in self._sheets:
            sheet.finish()
        self.book.save(target)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.save(buffer)
        return buffer.getvalue()


def _sheet_title(name: str, taken: list[str]) -> str:
    """A worksheet title Excel accepts: at most 31 characters, none of []:*?/\\, unique."""
    base = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "sheet"
    title, number = base, 1
    while title in taken:
        number += 1
        title = f"{base[: 31 - len(str(number)) - 1]}_{number}"
    return title


class CsvTable:
    """A CSV being written to a text handle opened with `encoding="utf-8-sig"`."""

    def __init__(
        self, handle: IO[str], columns: Sequence[Column], *, timezone: ZoneInfo, hxl: bool
    ) -> None:
        self._writer = csv.writer(handle, lineterminator="\r\n")
        self._timezone = timezone
        self._writer.writerow([guard(column.header) for column in columns])
        if hxl:
            self._writer.writerow([column.hxl for column in columns])

    def _text(self, value: CellValue) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            return _local(value, self._timezone).strftime(CSV_DATETIME)
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, int | float | Decimal):
            return str(value)
        return guard(str(value))

    def append(self, row: Sequence[CellValue]) -> None:
        self._writer.writerow([self._text(value) for value in row])


def csv_bytes(
    columns: Sequence[Column],
    rows: Iterable[Sequence[CellValue]],
    *,
    timezone: ZoneInfo,
    hxl: bool = False,
) -> bytes:
    """A whole CSV in UTF-8 with a byte-order mark."""
    buffer = io.StringIO()
    table = CsvTable(buffer, columns, timezone=timezone, hxl=hxl)
    for row in rows:
        table.append(row)
    return buffer.getvalue().encode("utf-8-sig")
