"""`python -m bot import-sessions FILE`: create many sessions from a CSV or XLSX file.

Columns (first row; CSV in UTF-8): title_ar, title_en, description_ar, description_en,
governorate (a code such as `nineveh`), venue, starts_at and ends_at (in TIMEZONE, e.g.
`2026-12-05 17:00` or `5/12/2026 17:00`; ends_at may be just `19:00`), capacity, and the
optional reserved_women, reserved_youth and reminder_hours (`24, 2` by default). Every row is
checked first; if any row is invalid, each problem is printed with its row number and nothing
is imported. See docs/examples/sessions.csv.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import html
import io
import re
from datetime import datetime
from pathlib import Path

from openpyxl import load_workbook

from bot.clock import SystemClock
from bot.config import Settings
from bot.sessions.organiser_input import (
    IMPORT_COLUMNS,
    REQUIRED_COLUMNS,
    InvalidRow,
    SessionDraft,
    draft_from_row,
)
from bot.sessions.organising import import_sessions
from messages import Catalogue
from storage.database import Database
from storage.migrate import upgrade_database

NAME = "import-sessions"
HELP = "create many sessions from a CSV or XLSX file (all rows or none)"
_TAGS = re.compile(r"<[^>]+>")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="a .csv (UTF-8) or .xlsx file")
    parser.add_argument(
        "--draft", action="store_true", help="save as drafts instead of publishing"
    )
    parser.add_argument("--check", action="store_true", help="only check the file")
    parser.add_argument("--organiser", type=int, help="Telegram id recorded as the creator")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_rows(path: Path) -> list[dict[str, str]]:
    """The data rows as {column: text}, keyed by the header row (names lower-cased)."""
    if path.suffix.lower() == ".xlsx":
        workbook = load_workbook(path, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        table = [[_cell(value) for value in row] for row in sheet.iter_rows(values_only=True)]
        workbook.close()
    else:
        text = path.read_text(encoding="utf-8-sig")
        table = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]
    if not table:
        return []
    header = [name.strip().lower() for name in table[0]]
    return [
        dict(zip(header, row, strict=False))
        for row in table[1:]
        if any(cell.strip() for cell in row)
    ]


def check_rows(
    rows: list[dict[str, str]], settings: Settings, now: datetime
) -> tuple[list[SessionDraft], list[str]]:
    catalogue = Catalogue(settings.timezone)
    drafts: list[SessionDraft] = []
    problems: list[str] = []
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        try:
            drafts.append(draft_from_row(row, settings.timezone, now))
        except InvalidRow as error:
            reason = catalogue.plain("en", f"sessions.invalid.{error.reason}")
            problems.append(
                f"row {number}, {error.column}: {html.unescape(_TAGS.sub('', reason))}"
            )
    return drafts, problems


async def run(settings: Settings, args: argparse.Namespace) -> int:
    path: Path = args.file
    try:
        rows = await asyncio.to_thread(read_rows, path)
    except FileNotFoundError:
        print(f"import-sessions: no such file: {path}")
        return 2
    except (OSError, UnicodeDecodeError, ValueError, csv.Error) as error:
        print(f"import-sessions: cannot read {path}: {type(error).__name__}")
        return 2
    header = set(rows[0]) if rows else set()
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if not rows or missing:
        print(f"import-sessions: missing columns: {', '.join(missing) or 'no data rows'}")
        print(f"expected columns: {', '.join(IMPORT_COLUMNS)}")
        return 1
    now = SystemClock().now()
    drafts, problems = check_rows(rows, settings, now)
    if problems:
        print(f"import-sessions: {len(problems)} problem(s); nothing was imported")
        for problem in problems:
            print(f"  {problem}")
        return 1
    if args.check:
        print(f"{len(drafts)} sessions are valid; nothing was imported (--check)")
        return 0
    database = Database(settings.database_url)
    try:
        await upgrade_database(database)
        async with database.unit_of_work() as uow:
            views = await import_sessions(
                uow, drafts, actor_id=args.organiser, publish=not args.draft, now=now
            )
            await uow.commit()
    finally:
        await database.dispose()
    state = "saved as drafts" if args.draft else "published"
    print(f"{len(views)} sessions {state}: " + ", ".join(f"#{view.id}" for view in views))
    return 0
