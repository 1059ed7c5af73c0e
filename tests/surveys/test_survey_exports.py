"""/results sends the responses as Excel-ready spreadsheets (issue 19, points 2 and 3; issue 17's
export bullet): opened with openpyxl, the XLSX has a frozen header, an autofilter, real number,
date and date-time (local) cells, Kobo's columns (group paths, select_multiple as the value and
one 0/1 column per option, a sheet per repeat with `_index`/`_parent_index`), labels in the
organiser's language, right-to-left for Arabic, text never a formula, and the HXL row on
request."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from bot.surveys.responses import submit_response
from tests.fake_telegram.records import SentMessage
from tests.support.harness import BotHarness
from tests.surveys.test_survey_steps import (
    CATALOGUE,
    WAIT,
    add_member,
    import_form,
    make_organiser,
    needs_form,
    text,
)

ORGANISER_EN, ORGANISER_AR = 9801, 9802
BAGHDAD = CATALOGUE.timezone
FORM = needs_form()
DISPLACED_EN = FORM.question("displaced").labels["en"]
DISPLACED_AR = FORM.question("displaced").labels["ar"]
NEEDS_AR = FORM.question("priority_needs").labels["ar"]
WATER_AR = FORM.question("priority_needs").option_label("water", "ar")
ANSWERS: list[dict[str, str]] = [
    {
        "displaced": "yes",
        "returned": "no",
        "household_size": "5",
        "priority_needs": "water health",
        "water_access": "rarely",
        "services_rating": "poor",
        "feel_safe": "no",
        "dialogue_interest": "yes",
        "last_meeting": "2025-03-21",
        "income": "350.5",
        "comments": '=HYPERLINK("http://example.org")',
    },
    {
        "displaced": "no",
        "household_size": "2",
        "priority_needs": "education",
        "services_rating": "fair",
        "feel_safe": "yes",
        "dialogue_interest": "no",
    },
]


async def seed_responses(bot: BotHarness, survey_id: int, answers: list[dict[str, str]]) -> None:
    now = bot.clock.now()
    for number, given in enumerate(answers):
        await add_member(bot, 9810 + number, "ar", governorate="baghdad")
        async with bot.db.unit_of_work() as uow:
            await submit_response(
                uow, survey_id, 9810 + number, dict(given), now - timedelta(minutes=2 - number)
            )
            await uow.commit()


async def files_of(bot: BotHarness, user_id: int, language: str, command: str) -> dict[str, bytes]:
    user = bot.user(user_id, language)
    user.command(command)
    received: list[SentMessage] = []
    done = text(language, "surveys.results.files_sent")
    while not received or received[-1].content != done:
        received.append(await user.reply(WAIT))
    return {
        str(m.document_name): m.document_bytes or b""
        for m in received
        if (m.document_name or "").endswith((".xlsx", ".csv", ".zip"))
    }


def sheet_of(files: dict[str, bytes], name: str = "responses") -> Worksheet:
    content = next(data for file, data in files.items() if file.endswith(".xlsx"))
    sheet = load_workbook(io.BytesIO(content))[name]
    assert isinstance(sheet, Worksheet)
    return sheet


def header(sheet: Worksheet) -> list[Any]:
    return [cell.value for cell in sheet[1]]


def column(sheet: Worksheet, name: str, first_data_row: int = 2) -> list[Any]:
    index = header(sheet).index(name) + 1
    return [sheet.cell(row, index) for row in range(first_data_row, sheet.max_row + 1)]


async def test_results_spreadsheets_open_in_excel_in_both_languages(bot: BotHarness) -> None:
    survey_id = await import_form(bot)
    await seed_responses(bot, survey_id, ANSWERS)
    await make_organiser(bot, ORGANISER_EN)

    files = await files_of(bot, ORGANISER_EN, "en", f"/results {survey_id}")
    sheet = sheet_of(files)
    assert sheet.freeze_panes == "A2" and not sheet.sheet_view.rightToLeft
    last = sheet.cell(1, sheet.max_column).column_letter
    assert sheet.auto_filter.ref == f"A1:{last}3"
    assert header(sheet)[-3:] == ["_index", "_uuid", "_submission_time"]
    sizes = column(sheet, "household_size")
    assert [c.value for c in sizes] == [5, 2] and all(c.data_type == "n" for c in sizes)
    assert column(sheet, "income")[0].value == 350.5
    water = column(sheet, "priority_needs/water")
    assert [c.value for c in water] == [1, 0] and water[0].data_type == "n"
    assert column(sheet, "priority_needs")[0].value == "water health"
    meeting = column(sheet, "last_meeting")[0]
    assert meeting.is_date and meeting.value == datetime(2025, 3, 21)
    submitted = column(sheet, "_submission_time")[0]
    first = bot.clock.now() - timedelta(minutes=2)
    local = first.astimezone(BAGHDAD).replace(tzinfo=None, microsecond=0)
    assert submitted.is_date and abs(submitted.value - local) < timedelta(minutes=1)
    assert [c.value for c in column(sheet, "_index")] == [1, 2]
    comment = column(sheet, "comments")[0]
    assert comment.data_type == "s" and comment.value.startswith("=HYPERLINK")  # text, inert
    assert sheet.column_dimensions["A"].width >= len("displaced")
    questions = sheet_of(files, "questions")
    labelled = {row[0].value: (row[2].value, row[3].value) for row in questions.iter_rows(2)}
    assert labelled["displaced"] == (DISPLACED_EN, DISPLACED_AR)  # both languages
    csv_name = next(name for name in files if name.endswith(".csv"))
    csv_text = files[csv_name].decode("utf-8-sig")
    assert files[csv_name].startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(csv_text)))
    assert rows[1][rows[0].index("comments")].startswith("'=")  # guarded in the CSV
    assert rows[1][rows[0].index("_submission_time")] == submitted.value.strftime("%Y-%m-%d %H:%M")

    # An Arabic-speaking organiser asks for labels and the HXL row.
    await add_member(bot, ORGANISER_AR, "ar")
    await make_organiser(bot, ORGANISER_AR)
    arabic = await files_of(bot, ORGANISER_AR, "ar", f"/results {survey_id} labels hxl")
    sheet = sheet_of(arabic)
    assert sheet.sheet_view.rightToLeft and sheet.freeze_panes == "A3"
    names = header(sheet)
    assert DISPLACED_AR in names and "displaced" not in names
    displaced = DISPLACED_AR
    assert [c.value for c in column(sheet, displaced, 3)] == ["نعم", "لا"]
    assert sheet.cell(2, names.index(displaced) + 1).value == "#indicator+displaced"
    assert sheet.cell(2, names.index("_submission_time") + 1).value == "#date+submitted"
    water = column(sheet, f"{NEEDS_AR}/{WATER_AR}", 3)  # the 0/1 column, labelled
    assert [c.value for c in water] == [1, 0] and water[0].data_type == "n"
    assert column(sheet, NEEDS_AR, 3)[0].value.startswith(WATER_AR)  # labels, as Kobo does
    sizes = column(sheet, FORM.question("household_size").labels["ar"], 3)
    assert [c.value for c in sizes] == [5, 2] and all(c.data_type == "n" for c in sizes)
    breakdown = sheet_of(arabic, "breakdown")
    assert breakdown.sheet_view.rightToLeft and breakdown.freeze_panes == "A3"
    assert any(row[2].value == "بغداد" for row in breakdown.iter_rows(min_row=3))


async def test_a_form_with_repeats_exports_a_sheet_per_repeat(bot: BotHarness) -> None:
    from tests.surveys.test_xlsform_features import HOUSEHOLD, Walker

    walk = Walker(HOUSEHOLD)
    for given in ("سلمى", "2", "40", "9"):
        walk.give(text=given)
    walk.give(choice="~next")
    walk.give(choice="bgd")
    walk.give(choice="karkh")
    answers = walk.flow.submission(walk.form, walk.data)
    survey_id = await import_household(bot)
    await seed_responses(bot, survey_id, [answers])
    await add_member(bot, ORGANISER_AR, "ar")
    await make_organiser(bot, ORGANISER_AR)
    files = await files_of(bot, ORGANISER_AR, "ar", f"/results {survey_id}")
    assert any(name.endswith("-csv.zip") for name in files)
    members = sheet_of(files, "member")
    assert members.sheet_view.rightToLeft and members.freeze_panes == "A2"
    assert header(members) == [
        "member/age",
        "member/pos",
        "member/child",
        "_index",
        "_parent_table_name",
        "_parent_index",
        "_submission__uuid",
    ]
    assert [c.value for c in column(members, "member/age")] == [40, 9]
    assert [c.value for c in column(members, "_parent_index")] == [1, 1]
    assert all(c.data_type == "n" for c in column(members, "_index"))
    assert members.auto_filter.ref == "A1:G3"


async def import_household(bot: BotHarness) -> int:
    import tempfile
    from pathlib import Path

    from tests.surveys.test_xlsform_features import HOUSEHOLD

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "household.xlsx"
        path.write_bytes(HOUSEHOLD)
        return await import_form(bot, path)


def test_moments_become_local_date_time_cells_and_text_stays_text() -> None:
    from bot.engines.disclosure import Wording
    from bot.surveys.exports import responses_csv, responses_xlsx
    from bot.surveys.lifecycle import SurveyStatus, SurveySummary
    from bot.surveys.results import NOT_GIVEN, Respondent, ResponseRow, compute_results
    from bot.surveys.xlsform.reading import read_xlsform
    from tests.surveys.test_xlsform_features import book

    form = read_xlsform(
        book(
            {
                "survey": [
                    ["type", "name", "label::en"],
                    ["start", "start", ""],
                    ["end", "end", ""],
                    ["datetime", "visit", "When?"],
                    ["text", "code", "Code?"],
                ]
            }
        )
    ).form
    answers = {
        "start": "2025-03-02T00:05:07.250+03:00",
        "end": "2025-03-01T21:09:00.000+00:00",
        "visit": "2025-03-01T09:15:00",
        "code": "@SUM(A1:A9)",
    }
    row = ResponseRow("a" * 32, datetime(2025, 3, 1, 21, 10, tzinfo=BAGHDAD), answers)
    when = datetime(2025, 3, 1, tzinfo=BAGHDAD)
    summary = SurveySummary(1, "f", "F", "ف", SurveyStatus.OPEN, 1, when, None, None)
    blank = dict.fromkeys(("governorate", "gender", "age_group"), NOT_GIVEN)
    results = compute_results(summary, form, [Respondent(row, blank)])
    content = responses_xlsx(results, "en", {}, Wording("<5", "hidden"), timezone=BAGHDAD)
    sheet = load_workbook(io.BytesIO(content))["responses"]
    cells = {sheet.cell(1, c).value: sheet.cell(2, c) for c in range(1, sheet.max_column + 1)}
    assert cells["start"].is_date and cells["start"].value == datetime(2025, 3, 2, 0, 5, 7)
    assert cells["end"].value == datetime(2025, 3, 2, 0, 9)  # UTC shown in TIMEZONE
    assert cells["visit"].value == datetime(2025, 3, 1, 9, 15)  # typed local time, kept
    assert cells["code"].data_type == "s" and cells["code"].value == "@SUM(A1:A9)"
    assert cells["_submission_time"].value == datetime(2025, 3, 1, 21, 10)
    text = responses_csv(results, timezone=BAGHDAD).decode("utf-8-sig")
    assert "2025-03-02 00:05" in text and "'@SUM(A1:A9)" in text
