"""`python -m bot import-survey FORM.xlsx [--publish]`: import an XLSForm as a survey.

Prints the preview in English and Arabic and the new survey's id (or, for a form outside the
supported subset, every problem with its sheet and row, and exits with status 1). The import
is audited with no actor (the operator at the console), like the chat upload.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import re
from pathlib import Path

from bot.clock import SystemClock
from bot.config import Settings
from bot.surveys.lifecycle import import_survey, publish_survey
from bot.surveys.presentation import preview_variables, problem_lines
from bot.surveys.xlsform.form import LANGUAGES
from bot.surveys.xlsform.reading import MAX_WORKBOOK_BYTES, FormRefused, read_xlsform
from messages import Catalogue
from storage.database import Database
from storage.migrate import upgrade_database

NAME = "import-survey"
HELP = "import an XLSForm (.xlsx) as a survey draft; prints the preview and the survey id"
CONSOLE_LANGUAGE = "en"
_TAG = re.compile(r"<[^>]+>")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="the XLSForm workbook (.xlsx)")
    parser.add_argument(
        "--publish", action="store_true", help="open the survey to members at once"
    )


def console_text(catalogue: Catalogue, key: str, **variables: object) -> str:
    """A catalogue message as plain console text (tags removed, entities decoded)."""
    return html.unescape(_TAG.sub("", catalogue.render(CONSOLE_LANGUAGE, key, **variables)))


def read_workbook_file(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


async def run(settings: Settings, args: argparse.Namespace) -> int:
    catalogue = Catalogue(settings.timezone)
    path = Path(args.path)
    content = await asyncio.to_thread(read_workbook_file, path)
    if content is None:
        print(f"hiwar: no such file: {path}")
        return 2
    if len(content) > MAX_WORKBOOK_BYTES:
        print(console_text(catalogue, "surveys.problem.too_large"))
        return 1
    try:
        read = read_xlsform(content, path.name)
    except FormRefused as refused:
        lines = problem_lines(catalogue, CONSOLE_LANGUAGE, refused.problems)
        print(console_text(catalogue, "surveys.admin.refused", problems=lines))
        return 1
    for language in LANGUAGES:
        variables = preview_variables(catalogue, CONSOLE_LANGUAGE, read.form, language)
        print(console_text(catalogue, "surveys.admin.preview", **variables))
        print()
    if read.warnings:
        lines = problem_lines(catalogue, CONSOLE_LANGUAGE, read.warnings)
        print(console_text(catalogue, "surveys.admin.warnings", problems=lines))
    database = Database(settings.database_url, pool_size=2)
    now = SystemClock().now()
    try:
        await upgrade_database(database)
        async with database.unit_of_work() as uow:
            summary = await import_survey(uow, read, actor_id=None, source_name=path.name, now=now)
            if args.publish:
                summary = await publish_survey(uow, summary.id, actor_id=None, now=now)
            await uow.commit()
    finally:
        await database.dispose()
    print(f"survey id: {summary.id} ({summary.status.value})")
    return 0
