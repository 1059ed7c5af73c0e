"""Survey responses as CSV and XLSX that join KoboToolbox exports.

Columns are named as Kobo names them: the question's group path (`household/age`; notes left
out), then `_index`, `_uuid` and `_submission_time`; select_multiple answers are the
space-separated choice names, followed by one 0/1 column per option (`needs/water`).
Calculations and metadata (start, end, today, deviceid) are columns like any question. The
XLSX has one more sheet per repeat, a row per instance, with `_index`, `_parent_table_name`,
`_parent_index` (the row of the main sheet or enclosing repeat) and `_submission__uuid`.
No member identity is exported: `_uuid` is the response's random id. The CSV is UTF-8 with a
byte-order mark so Excel opens Arabic correctly; a form with repeats gets its CSV as a ZIP of
one CSV per sheet (`<stem>.csv`, `<stem>-<repeat>.csv`), the same tables as the XLSX sheets.
Headers are the XLSForm names, or (Kobo's "labels" option, `headers="labels"`) the question
labels in the organiser's language, with `label/option label` for the 0/1 columns. The XLSX
adds a `breakdown` sheet with the disaggregated counts (suppressed by `bot.engines.disclosure`)
and a `questions` sheet with labels.
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal, InvalidOperation
from io import BytesIO, StringIO

from openpyxl import Workbook

from bot.engines.disclosure import Wording
from bot.surveys.results import ResponseRow, SurveyResults
from bot.surveys.xlsform.form import Question, QuestionType, SurveyForm

META_COLUMNS = ("_index", "_uuid", "_submission_time")
_REPEAT_META = ("_index", "_parent_table_name", "_parent_index", "_submission__uuid")
_INSTANCE = re.compile(r"^(?P<key>.+)\[(?P<idx>[\d.]+)\]$")


@dataclass(frozen=True)
class Column:
    """One export column: its Kobo name, the question, and for a 0/1 column its option."""

    name: str
    question: Question | None = None
    option: str | None = None


def _exported(question: Question) -> bool:
    return question.takes_answer


def table_columns(
    form: SurveyForm, repeat: int | None, headers: str = "names", language: str = "en"
) -> list[Column]:
    """The columns of the main sheet (repeat None) or of one repeat's sheet, Kobo-style:
    group paths as names (or labels), select_multiple as its value then one 0/1 column per
    option."""
    columns: list[Column] = []
    for question in form.questions:
        innermost = question.repeats[-1] if question.repeats else None
        if innermost != repeat or not _exported(question):
            continue
        labels = headers == "labels"
        title = (question.labels.get(language) or question.path) if labels else question.path
        columns.append(Column(title, question))
        if question.type is QuestionType.SELECT_MULTIPLE:
            for option in question.options:
                part = (option.labels.get(language) or option.name) if labels else option.name
                columns.append(Column(f"{title}/{part}", question, option.name))
    return columns


def columns_of(form: SurveyForm, headers: str = "names", language: str = "en") -> list[str]:
    return [c.name for c in table_columns(form, None, headers, language)] + list(META_COLUMNS)


def _cell(column: Column, answers: Mapping[str, str], idx: str = "") -> str:
    assert column.question is not None
    key = column.question.key + (f"[{idx}]" if idx else "")
    value = answers.get(key, "")
    if column.option is None:
        return value
    if not value:
        return ""
    return "1" if column.option in value.split() else "0"


def _cells(form: SurveyForm, row: ResponseRow, number: int) -> list[str]:
    submitted = row.submitted_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:00Z")
    cells = [_cell(c, row.answers) for c in table_columns(form, None)]
    return [*cells, str(number), row.response_uid, submitted]


def _instances(form: SurveyForm, section: int, results: SurveyResults) -> list[tuple[int, str]]:
    """(response number, instance like `2` or `1.3`) of every instance of a repeat."""
    info = form.sections[section]
    keys = {q.key for q in form.questions[info.start : info.end] if q.repeats[-1:] == (section,)}
    depth = sum(1 for s in form.questions[info.start].repeats) if info.start < info.end else 1
    found: list[tuple[int, str]] = []
    for number, row in enumerate(results.rows, start=1):
        instances = {
            match["idx"]
            for key in row.answers
            if (match := _INSTANCE.match(key))
            and match["key"] in keys
            and match["idx"].count(".") == depth - 1
        }
        ordered = sorted(instances, key=lambda text: tuple(int(p) for p in text.split(".")))
        found.extend((number, idx) for idx in ordered)
    return found


def repeat_rows(
    form: SurveyForm,
    section: int,
    results: SurveyResults,
    headers: str = "names",
    language: str = "en",
) -> tuple[list[str], list[list[str]]]:
    """One repeat's sheet: a row per instance, `_index` numbering the sheet's rows and
    `_parent_index` the row of the parent (main sheet or enclosing repeat) it belongs to."""
    info = form.sections[section]
    columns = table_columns(form, section)
    titles = [c.name for c in table_columns(form, section, headers, language)]
    chain = form.questions[info.start].repeats if info.start < info.end else (section,)
    parent = chain[-2] if len(chain) > 1 else None
    parent_name = form.sections[parent].name if parent is not None else "main"
    parent_rows: dict[tuple[int, str], int] = {}
    if parent is not None:
        for number, (response, idx) in enumerate(_instances(form, parent, results), start=1):
            parent_rows[(response, idx)] = number
    header = titles + list(_REPEAT_META)
    rows: list[list[str]] = []
    for response, idx in _instances(form, section, results):
        row = results.rows[response - 1]
        outer = idx.rsplit(".", 1)[0] if "." in idx else ""
        parent_index = response if parent is None else parent_rows.get((response, outer), 0)
        cells = [_cell(c, row.answers, idx) for c in columns]
        rows.append([*cells, str(len(rows) + 1), parent_name, str(parent_index), row.response_uid])
    return header, rows


def _guard(value: str) -> str:
    """Keep a spreadsheet from reading a member's text as a formula (=, +, -, @)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") and not _is_number(value) else value


def _is_number(value: str) -> bool:
    try:
        Decimal(value)
    except InvalidOperation:
        return False
    return True


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_guard(value) for value in row])
    return out.getvalue().encode("utf-8-sig")


def responses_csv(results: SurveyResults, headers: str = "names", language: str = "en") -> bytes:
    """The main sheet as CSV."""
    rows = [_cells(results.form, row, number) for number, row in enumerate(results.rows, 1)]
    return _csv(columns_of(results.form, headers, language), rows)


def repeat_sections(form: SurveyForm) -> list[int]:
    return [index for index, info in enumerate(form.sections) if info.repeat]


def responses_csv_export(
    results: SurveyResults, stem: str, headers: str = "names", language: str = "en"
) -> tuple[str, bytes]:
    """(file name, content): `<stem>.csv`, or for a form with repeats `<stem>-csv.zip` with
    the main sheet and one CSV per repeat (`_index`, `_parent_index` join them)."""
    main = responses_csv(results, headers, language)
    repeats = repeat_sections(results.form)
    if not repeats:
        return f"{stem}.csv", main
    out = BytesIO()
    taken: list[str] = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{stem}.csv", main)
        for section in repeats:
            header, rows = repeat_rows(results.form, section, results, headers, language)
            name = _sheet_name(results.form.sections[section].name, taken)
            taken.append(name)
            archive.writestr(f"{stem}-{name}.csv", _csv(header, rows))
    return f"{stem}-csv.zip", out.getvalue()


def _typed(kind: QuestionType | None, value: str) -> str | int | float:
    try:
        if value and kind is QuestionType.INTEGER:
            return int(value)
        if value and kind is QuestionType.DECIMAL:
            return float(value)
    except ValueError:
        pass
    return _guard(value)


def _sheet_name(name: str, taken: list[str]) -> str:
    """A worksheet title (31 characters, unique) for a repeat."""
    base = re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "repeat"
    title, number = base, 1
    while title in taken:
        number += 1
        title = f"{base[: 31 - len(str(number)) - 1]}_{number}"
    return title


def responses_xlsx(
    results: SurveyResults,
    language: str,
    group_labels: Mapping[str, str],
    words: Wording,
    headers: str = "names",
) -> bytes:
    """The responses, a breakdown sheet and a questions sheet; `group_labels` names the
    governorate/gender/age-group codes (and `not_given`) in the organiser's language."""
    form = results.form
    workbook = Workbook(write_only=True)
    responses = workbook.create_sheet("responses")
    responses.append(columns_of(form, headers, language))
    kinds: list[QuestionType | None] = [
        c.question.type if c.question is not None and c.option is None else None
        for c in table_columns(form, None)
    ]
    kinds += [None] * len(META_COLUMNS)
    for number, row in enumerate(results.rows, start=1):
        cells = _cells(form, row, number)
        responses.append([_typed(kind, value) for kind, value in zip(kinds, cells, strict=True)])
    for section, info in enumerate(form.sections):
        if not info.repeat:
            continue
        header, rows = repeat_rows(form, section, results, headers, language)
        sheet = workbook.create_sheet(_sheet_name(info.name, workbook.sheetnames))
        sheet.append(header)
        repeat_kinds = [
            c.question.type if c.question is not None and c.option is None else None
            for c in table_columns(form, section)
        ] + [None] * len(_REPEAT_META)
        for line in rows:
            sheet.append([_typed(k, v) for k, v in zip(repeat_kinds, line, strict=True)])
    breakdown = workbook.create_sheet("breakdown")
    breakdown.append(["question", "dimension", "group", "choice", "label", "people"])
    for result in results.choices:
        question = result.question
        for option, count in zip(question.options, result.counts, strict=True):
            breakdown.append(
                [question.name, "all", "", option.name, option.labels[language], words.of(count)]
            )
        for part in result.breakdowns:
            for group in part.groups:
                label = group_labels.get(group.group, group.group)
                for option, count in zip(question.options, group.counts, strict=True):
                    breakdown.append(
                        [
                            question.name,
                            part.dimension,
                            label,
                            option.name,
                            option.labels[language],
                            words.of(count),
                        ]
                    )
    questions = workbook.create_sheet("questions")
    questions.append(["name", "type", "label::English (en)", "label::Arabic (ar)"])
    for q in form.questions:
        questions.append([q.path, q.type.value, q.labels.get("en", ""), q.labels.get("ar", "")])
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()
