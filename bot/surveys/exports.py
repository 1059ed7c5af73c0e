"""Survey responses as CSV and XLSX that join KoboToolbox exports, written by
`bot.engines.spreadsheets` like every other spreadsheet of the bot.

Columns are named as Kobo names them: the question's group path (`household/age`; notes left
out), then `_index`, `_uuid` and `_submission_time`; select_multiple answers are the
space-separated choice names, followed by one 0/1 column per option (`needs/water`).
Calculations and metadata (start, end, today, deviceid) are columns like any question. The
XLSX has one more sheet per repeat, a row per instance, with `_index`, `_parent_table_name`,
`_parent_index` (the row of the main sheet or enclosing repeat) and `_submission__uuid`.
No member identity is exported: `_uuid` is the response's random id.

Headers are the XLSForm names, or (Kobo's "labels" option, `headers="labels"`) the question
labels in the organiser's language, with `label/option label` for the 0/1 columns; with labels,
the choices are written as their labels too, as Kobo does. Cells are typed: integers and
decimals are number cells, the 0/1 columns and `_index` numbers, dates date cells, and
`start`, `end`, `datetime` answers and `_submission_time` date-time cells in `TIMEZONE`.
Every sheet has its header frozen, an autofilter and column widths; it is right-to-left for an
Arabic-speaking organiser; an optional HXL hashtag row follows the header. The CSV is UTF-8
with a byte-order mark (moments in `TIMEZONE`); a form with repeats gets its CSV as a ZIP of
one CSV per sheet (`<stem>.csv`, `<stem>-<repeat>.csv`), the same tables as the XLSX sheets.
The XLSX adds a `breakdown` sheet with the disaggregated counts (suppressed by
`bot.engines.disclosure`), a `questions` sheet and a `choices` sheet with the labels in both
languages.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from io import BytesIO
from zoneinfo import ZoneInfo

from bot.engines.disclosure import Figure, Wording
from bot.engines.spreadsheets import CellValue, Kind, Spreadsheet, csv_bytes
from bot.engines.spreadsheets import Column as SheetColumn
from bot.surveys.results import ResponseRow, SurveyResults
from bot.surveys.xlsform.form import Question, QuestionType, SurveyForm

META_COLUMNS = ("_index", "_uuid", "_submission_time")
_REPEAT_META = ("_index", "_parent_table_name", "_parent_index", "_submission__uuid")
_META_KINDS: dict[str, tuple[Kind, str]] = {
    "_index": ("number", "#meta+index"),
    "_uuid": ("text", "#meta+id"),
    "_submission_time": ("datetime", "#date+submitted"),
    "_parent_table_name": ("text", "#meta+parent+name"),
    "_parent_index": ("number", "#meta+parent+index"),
    "_submission__uuid": ("text", "#meta+id"),
}
_INSTANCE = re.compile(r"^(?P<key>.+)\[(?P<idx>[\d.]+)\]$")
_NUMBERS = frozenset({QuestionType.INTEGER, QuestionType.DECIMAL, QuestionType.RANGE})
_MOMENTS = frozenset({QuestionType.START, QuestionType.END, QuestionType.DATETIME})
_DATES = frozenset({QuestionType.DATE, QuestionType.TODAY})
_HXL_ATTRIBUTE = re.compile(r"[^a-z0-9]+")


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


def _kind(column: Column) -> Kind:
    question = column.question
    if question is None:
        return "text"
    if column.option is not None or question.type in _NUMBERS:
        return "number"
    if question.type in _MOMENTS:
        return "datetime"
    if question.type in _DATES:
        return "date"
    if question.options:
        return "code"
    return "text"


def _hxl(column: Column) -> str:
    """A hashtag for the HXL row: the kind of value, with the question's name as attribute."""
    question = column.question
    if question is None:
        return ""
    attribute = "+" + _HXL_ATTRIBUTE.sub("_", question.name.lower()).strip("_")
    if column.option is not None:
        return f"#indicator{attribute}+{_HXL_ATTRIBUTE.sub('_', column.option.lower())}"
    if question.type in _MOMENTS or question.type in _DATES:
        return f"#date{attribute}"
    if question.type in (QuestionType.GEOPOINT, QuestionType.GEOTRACE, QuestionType.GEOSHAPE):
        return f"#geo+coord{attribute}"
    return f"#indicator{attribute}"


def sheet_columns(columns: Sequence[Column], meta: Sequence[str]) -> list[SheetColumn]:
    return [SheetColumn(c.name, _kind(c), _hxl(c)) for c in columns] + [
        SheetColumn(name, *_META_KINDS[name]) for name in meta
    ]


class Cells:
    """Answers as typed spreadsheet cells: numbers, dates and local date-times, labels."""

    def __init__(self, timezone: tzinfo, headers: str, language: str) -> None:
        self.timezone, self.labels, self.language = timezone, headers == "labels", language

    def of(self, column: Column, answers: Mapping[str, str], idx: str = "") -> CellValue:
        question = column.question
        assert question is not None
        key = question.key + (f"[{idx}]" if idx else "")
        value = answers.get(key, "")
        if not value:
            return None
        if column.option is not None:
            return 1 if column.option in value.split() else 0
        kind = question.type
        if kind in _NUMBERS:
            return _number(value)
        if kind in _DATES:
            try:
                return date.fromisoformat(value[:10])
            except ValueError:
                return value
        if kind in _MOMENTS:
            return self._moment(value)
        if self.labels and question.options:
            words = [question.option_label(part, self.language) for part in value.split()]
            return " ".join(words) if kind is QuestionType.SELECT_MULTIPLE else words[0]
        return value

    def _moment(self, value: str) -> CellValue:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if moment.tzinfo is None:  # a typed date-time is the member's local time
            moment = moment.replace(tzinfo=self.timezone)
        return moment


def _number(value: str) -> CellValue:
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value
    if not number.is_finite():
        return value
    return int(number) if number == number.to_integral_value() and "." not in value else number


def _cells(form: SurveyForm, row: ResponseRow, number: int, cells: Cells) -> list[CellValue]:
    values = [cells.of(c, row.answers) for c in table_columns(form, None)]
    return [*values, number, row.response_uid, row.submitted_at]


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
    timezone: tzinfo = UTC,
) -> tuple[list[SheetColumn], list[list[CellValue]]]:
    """One repeat's sheet: a row per instance, `_index` numbering the sheet's rows and
    `_parent_index` the row of the parent (main sheet or enclosing repeat) it belongs to."""
    info = form.sections[section]
    columns = table_columns(form, section, headers, language)
    chain = form.questions[info.start].repeats if info.start < info.end else (section,)
    parent = chain[-2] if len(chain) > 1 else None
    parent_name = form.sections[parent].name if parent is not None else "main"
    parent_rows: dict[tuple[int, str], int] = {}
    if parent is not None:
        for number, (response, idx) in enumerate(_instances(form, parent, results), start=1):
            parent_rows[(response, idx)] = number
    cells = Cells(timezone, headers, language)
    rows: list[list[CellValue]] = []
    for response, idx in _instances(form, section, results):
        row = results.rows[response - 1]
        outer = idx.rsplit(".", 1)[0] if "." in idx else ""
        parent_index = response if parent is None else parent_rows.get((response, outer), 0)
        values = [cells.of(c, row.answers, idx) for c in columns]
        rows.append([*values, len(rows) + 1, parent_name, parent_index, row.response_uid])
    return sheet_columns(columns, _REPEAT_META), rows


def _main_sheet(
    results: SurveyResults, headers: str, language: str, timezone: tzinfo
) -> tuple[list[SheetColumn], list[list[CellValue]]]:
    form = results.form
    cells = Cells(timezone, headers, language)
    rows = [_cells(form, row, number, cells) for number, row in enumerate(results.rows, 1)]
    return sheet_columns(table_columns(form, None, headers, language), META_COLUMNS), rows


def _zone(timezone: tzinfo) -> ZoneInfo:
    return timezone if isinstance(timezone, ZoneInfo) else ZoneInfo("UTC")


def responses_csv(
    results: SurveyResults,
    headers: str = "names",
    language: str = "en",
    timezone: tzinfo = UTC,
    hxl: bool = False,
) -> bytes:
    """The main sheet as CSV."""
    columns, rows = _main_sheet(results, headers, language, timezone)
    return csv_bytes(columns, rows, timezone=_zone(timezone), hxl=hxl)


def repeat_sections(form: SurveyForm) -> list[int]:
    return [index for index, info in enumerate(form.sections) if info.repeat]


def responses_csv_export(
    results: SurveyResults,
    stem: str,
    headers: str = "names",
    language: str = "en",
    timezone: tzinfo = UTC,
    hxl: bool = False,
) -> tuple[str, bytes]:
    """(file name, content): `<stem>.csv`, or for a form with repeats `<stem>-csv.zip` with
    the main sheet and one CSV per repeat (`_index`, `_parent_index` join them)."""
    main = responses_csv(results, headers, language, timezone, hxl)
    repeats = repeat_sections(results.form)
    if not repeats:
        return f"{stem}.csv", main
    out = BytesIO()
    taken: list[str] = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{stem}.csv", main)
        for section in repeats:
            columns, rows = repeat_rows(
                results.form, section, results, headers, language, timezone
            )
            name = _sheet_name(results.form.sections[section].name, taken)
            taken.append(name)
            content = csv_bytes(columns, rows, timezone=_zone(timezone), hxl=hxl)
            archive.writestr(f"{stem}-{name}.csv", content)
    return f"{stem}-csv.zip", out.getvalue()


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
    timezone: tzinfo = UTC,
    hxl: bool = False,
) -> bytes:
    """The responses, a sheet per repeat, a breakdown sheet, and questions and choices
    sheets; `group_labels` names the governorate/gender/age-group codes (and `not_given`) in
    the organiser's language."""
    form = results.form
    book = Spreadsheet(timezone=_zone(timezone), right_to_left=language == "ar", hxl=hxl)
    columns, rows = _main_sheet(results, headers, language, timezone)
    book.table("responses", columns, rows)
    taken = ["responses", "breakdown", "questions", "choices"]
    for section in repeat_sections(form):
        repeat_columns, repeat_table = repeat_rows(
            form, section, results, headers, language, timezone
        )
        title = _sheet_name(form.sections[section].name, taken)
        taken.append(title)
        book.table(title, repeat_columns, repeat_table)
    breakdown: list[list[CellValue]] = []
    for result in results.choices:
        question = result.question
        for option, count in zip(question.options, result.counts, strict=True):
            label = option.labels.get(language, option.name)
            breakdown.append([question.name, "all", "", option.name, label, _figure(count, words)])
        for part in result.breakdowns:
            for group in part.groups:
                group_label = group_labels.get(group.group, group.group)
                for option, count in zip(question.options, group.counts, strict=True):
                    breakdown.append(
                        [
                            question.name,
                            part.dimension,
                            group_label,
                            option.name,
                            option.labels.get(language, option.name),
                            _figure(count, words),
                        ]
                    )
    book.table(
        "breakdown",
        [
            SheetColumn("question", "code", "#indicator+question"),
            SheetColumn("dimension", "code", "#meta+dimension"),
            SheetColumn("group", "label", "#group+name"),
            SheetColumn("choice", "code", "#indicator+choice+code"),
            SheetColumn("label", "label", "#indicator+choice+name"),
            SheetColumn("people", "number", "#reached+people"),
        ],
        breakdown,
    )
    book.table(
        "questions",
        [
            SheetColumn("name", "code"),
            SheetColumn("type", "code"),
            SheetColumn("label::English (en)", "label"),
            SheetColumn("label::Arabic (ar)", "label"),
        ],
        [
            [q.path, q.type.value, q.labels.get("en", ""), q.labels.get("ar", "")]
            for q in form.questions
        ],
    )
    book.table(
        "choices",
        [
            SheetColumn("list_name", "code"),
            SheetColumn("name", "code"),
            SheetColumn("label::English (en)", "label"),
            SheetColumn("label::Arabic (ar)", "label"),
        ],
        [
            [list_name, o.name, o.labels.get("en", ""), o.labels.get("ar", "")]
            for list_name, options in form.lists.items()
            for o in options
        ],
    )
    return book.to_bytes()


def _figure(count: Figure, words: Wording) -> CellValue:
    """A released count as a number cell, or the reader's "<5" / "hidden"."""
    return count.value if count.value is not None and not count.hidden else words.of(count)
