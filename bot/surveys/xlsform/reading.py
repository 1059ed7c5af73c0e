"""Reading an XLSForm workbook with pyxform and checking it against Hiwar's subset (SPEC §3.3).

pyxform (the reference XLSForm library) reads the sheets and builds the form JSON, and catches
what any XLSForm tool would refuse (a list missing from `choices`, duplicate names, unknown
references). On top of that Hiwar refuses what it cannot run in a chat: groups, repeats,
calculations and other types outside text, integer, decimal, select_one, select_multiple,
note and date; expressions its evaluator does not parse. Each problem names the sheet, the
row and a reason code (rendered from the catalogue). A label missing in one language is a
warning, and the other language is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from pyxform.errors import PyXFormError
from pyxform.xls2json import workbook_to_json
from pyxform.xls2json_backends import get_xlsform

from bot.surveys.xlsform.expressions import ExpressionError, parse
from bot.surveys.xlsform.form import LANGUAGES, Option, Question, QuestionType, SurveyForm

MAX_WORKBOOK_BYTES = 2_000_000
MAX_NAME_LENGTH = 60  # the flow stores the question name as its step (64 characters)
MAX_CHOICE_NAME_LENGTH = 40  # button data is at most 64 bytes, with the flow's prefix
MAX_QUESTIONS = 200
MAX_LABEL_LENGTH = 1000

_TYPE_ALIASES = {
    "text": QuestionType.TEXT,
    "string": QuestionType.TEXT,
    "integer": QuestionType.INTEGER,
    "int": QuestionType.INTEGER,
    "decimal": QuestionType.DECIMAL,
    "note": QuestionType.NOTE,
    "date": QuestionType.DATE,
    "select_one": QuestionType.SELECT_ONE,
    "select_multiple": QuestionType.SELECT_MULTIPLE,
    "select_all_that_apply": QuestionType.SELECT_MULTIPLE,
}
_JSON_TYPES = {
    "select one": QuestionType.SELECT_ONE,
    "select all that apply": QuestionType.SELECT_MULTIPLE,
    **{t.value: t for t in QuestionType},
}
# Metadata a Kobo/ODK form often carries; a chat has no device, so they are skipped.
METADATA_TYPES = frozenset(
    {
        *("start", "end", "today", "deviceid", "subscriberid", "simserial"),
        *("phonenumber", "username", "email", "audit", "start-geopoint"),
    }
)
UNSUPPORTED_COLUMNS = ("calculation", "choice_filter", "repeat_count", "trigger", "default")
_TRUE = frozenset({"yes", "true", "true()", "1"})
_FALSE = frozenset({"", "no", "false", "false()", "0"})
_LANGUAGE_CODE = re.compile(r"\((\w+)\)\s*$")
_PYXFORM_ROW = re.compile(r"\[row\s*:\s*(\d+)\]")
_PYXFORM_SHEET = re.compile(r"'(survey|choices|settings)' sheet")


@dataclass(frozen=True)
class FormProblem:
    """Why a form is refused (or warned about): where, and a catalogue reason code."""

    sheet: str | None
    row: int | None
    code: str
    details: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        parts = [
            f"sheet {self.sheet}" if self.sheet else "",
            f"row {self.row}" if self.row else "",
        ]
        where = ", ".join(part for part in parts if part)
        detail = "; ".join(f"{k}={v}" for k, v in self.details.items())
        return f"{where or 'workbook'}: {self.code}" + (f" ({detail})" if detail else "")


class FormRefused(Exception):
    def __init__(self, problems: list[FormProblem]) -> None:
        super().__init__("; ".join(p.describe() for p in problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class ReadForm:
    form: SurveyForm
    warnings: tuple[FormProblem, ...]


def read_xlsform(content: bytes, source_name: str | None = None) -> ReadForm:
    """Parse and check a workbook; raises FormRefused with every problem found."""
    if len(content) > MAX_WORKBOOK_BYTES:
        raise FormRefused([FormProblem(None, None, "too_large")])
    try:
        workbook = get_xlsform(BytesIO(content), file_type=".xlsx")
    except (PyXFormError, ValueError, OSError):
        raise FormRefused([FormProblem(None, None, "unreadable")]) from None
    if not workbook.survey:
        raise FormRefused([FormProblem("survey", None, "missing_sheet")])
    rows = [dict(row) for row in workbook.survey]
    choice_rows = [dict(row) for row in workbook.choices or ()]
    lists = {str(row.get("list_name", "")).strip() for row in choice_rows}
    problems = _check_survey_rows(rows, lists, has_choices=workbook.choices is not None)
    if problems:
        raise FormRefused(problems)
    warnings: list[str] = []
    try:
        form_json = workbook_to_json(
            workbook, form_name="data", default_language="default", warnings=warnings
        )
    except PyXFormError as error:
        raise FormRefused([_from_pyxform(str(error))]) from None
    return _build_form(form_json, rows, choice_rows, workbook.settings or [], source_name)


def _base_type(raw: str) -> tuple[str, str | None]:
    """("select_one", "yn") from "select_one yn" or "select one yn"."""
    text = re.sub(r"^select (one|multiple)\b", r"select_\1", " ".join(raw.split()))
    parts = text.split(" ", 1)
    return parts[0], parts[1].strip() if len(parts) > 1 else None


def _check_survey_rows(
    rows: list[dict[str, Any]], lists: set[str], *, has_choices: bool
) -> list[FormProblem]:
    problems: list[FormProblem] = []
    seen: dict[str, int] = {}
    counted = 0
    for index, row in enumerate(rows):
        number = index + 2
        raw_type = str(row.get("type", "")).strip()
        if not raw_type:
            if row:
                problems.append(FormProblem("survey", number, "missing_type"))
            continue
        base, list_name = _base_type(raw_type)
        if base in METADATA_TYPES:
            continue
        name = str(row.get("name", "")).strip()
        if base not in _TYPE_ALIASES:
            problems.append(FormProblem("survey", number, "unsupported_type", {"type": raw_type}))
            continue
        counted += 1
        kind = _TYPE_ALIASES[base]
        if kind in (QuestionType.SELECT_ONE, QuestionType.SELECT_MULTIPLE):
            if not list_name:
                problems.append(FormProblem("survey", number, "missing_list", {"type": raw_type}))
            elif not has_choices:
                problems.append(FormProblem("choices", None, "missing_sheet"))
            elif list_name not in lists:
                problems.append(FormProblem("survey", number, "unknown_list", {"list": list_name}))
        elif list_name:
            problems.append(FormProblem("survey", number, "unsupported_type", {"type": raw_type}))
        if not name:
            problems.append(FormProblem("survey", number, "missing_name"))
        elif len(name) > MAX_NAME_LENGTH:
            problems.append(FormProblem("survey", number, "name_too_long", {"name": name[:80]}))
        elif name in seen:
            details = {"name": name, "first_row": str(seen[name])}
            problems.append(FormProblem("survey", number, "duplicate_name", details))
        else:
            seen[name] = number
        for column in UNSUPPORTED_COLUMNS:
            if str(row.get(column, "")).strip():
                problems.append(
                    FormProblem("survey", number, "unsupported_column", {"column": column})
                )
        required = str(row.get("required", "")).strip().lower()
        if required not in _TRUE | _FALSE:
            problems.append(FormProblem("survey", number, "required_not_yes_no"))
        for column in ("relevant", "constraint"):
            source = str(row.get(column, "")).strip()
            if not source:
                continue
            try:
                expression = parse(source)
            except ExpressionError as error:
                problems.append(_expression_problem(number, column, source, error))
                continue
            for missing in sorted(expression.references - set(_all_names(rows))):
                details = {"column": column, "name": missing}
                problems.append(FormProblem("survey", number, "unknown_reference", details))
    if not problems and counted == 0:
        problems.append(FormProblem("survey", None, "no_questions"))
    if counted > MAX_QUESTIONS:
        problems.append(FormProblem("survey", None, "too_many_questions"))
    return problems


def _all_names(rows: list[dict[str, Any]]) -> list[str]:
    return [str(row.get("name", "")).strip() for row in rows if row.get("name")]


def _expression_problem(row: int, column: str, source: str, error: ExpressionError) -> FormProblem:
    return FormProblem(
        "survey",
        row,
        "expression",
        {
            "column": column,
            "expression": source[:200],
            "error": error.code,
            "position": str(error.position + 1),
            "detail": error.detail[:40],
        },
    )


def _from_pyxform(message: str) -> FormProblem:
    row_match = _PYXFORM_ROW.search(message)
    sheet_match = _PYXFORM_SHEET.search(message)
    sheet = sheet_match.group(1) if sheet_match else ("survey" if row_match else None)
    if "choices" in message.lower() and not sheet_match:
        sheet = "choices"
    clean = _PYXFORM_ROW.sub("", message).strip()
    return FormProblem(
        sheet, int(row_match.group(1)) if row_match else None, "pyxform", {"message": clean[:300]}
    )


def _by_language(value: Any) -> dict[str, str]:
    """{"en": ..., "ar": ...} from a pyxform label (a string, or a dict keyed by language)."""
    if value is None:
        return {}
    if isinstance(value, str):
        return {"default": value.strip()} if value.strip() else {}
    result: dict[str, str] = {}
    for language, text in dict(value).items():
        if not isinstance(text, str) or not text.strip():
            continue
        match = _LANGUAGE_CODE.search(str(language))
        code = match.group(1).lower() if match else str(language).lower()
        if code in LANGUAGES or code == "default":
            result[code] = text.strip()[:MAX_LABEL_LENGTH]
    return result


def _complete(
    texts: dict[str, str], sheet: str, row: int, column: str, warnings: list[FormProblem]
) -> dict[str, str]:
    """Both languages, the missing one taken from the other (with a warning)."""
    default = texts.get("default")
    result: dict[str, str] = {}
    for language in LANGUAGES:
        text = texts.get(language) or default
        if text is None:
            other = next((texts[o] for o in LANGUAGES if o != language and texts.get(o)), None)
            if other is None:
                return {}
            details = {"column": column, "language": language}
            warnings.append(FormProblem(sheet, row, "label_fallback", details))
            text = other
        result[language] = text
    return result


def _build_form(
    form_json: dict[str, Any],
    rows: list[dict[str, Any]],
    choice_rows: list[dict[str, Any]],
    settings: Any,
    source_name: str | None,
) -> ReadForm:
    warnings: list[FormProblem] = []
    problems: list[FormProblem] = []
    row_of = {str(r.get("name", "")).strip(): i + 2 for i, r in enumerate(rows) if r.get("name")}
    choice_row_of = {
        (str(r.get("list_name", "")).strip(), str(r.get("name", "")).strip()): i + 2
        for i, r in enumerate(choice_rows)
    }
    questions: list[Question] = []
    for child in form_json.get("children", []):
        kind = _JSON_TYPES.get(str(child.get("type", "")))
        if kind is None:
            continue  # pyxform's own meta group, or metadata skipped above
        name = str(child["name"])
        row = row_of.get(name, 0)
        labels = _complete(_by_language(child.get("label")), "survey", row, "label", warnings)
        if not labels:
            problems.append(FormProblem("survey", row, "missing_label", {"name": name}))
            continue
        bind = dict(child.get("bind") or {})
        options = []
        list_name = str(child.get("list_name") or child.get("itemset") or "")
        for choice in child.get("choices") or ():
            choice_name = str(choice.get("name", ""))
            choice_row = choice_row_of.get((list_name, choice_name), 0)
            if len(choice_name) > MAX_CHOICE_NAME_LENGTH or " " in choice_name:
                details = {"name": choice_name[:80]}
                problems.append(FormProblem("choices", choice_row, "bad_choice_name", details))
                continue
            texts = _by_language(choice.get("label"))
            choice_labels = _complete(texts, "choices", choice_row, "label", warnings)
            options.append(
                Option(choice_name, choice_labels or dict.fromkeys(LANGUAGES, choice_name))
            )
        questions.append(
            Question(
                name=name,
                type=kind,
                labels=labels,
                row=row,
                hints=_complete(_by_language(child.get("hint")), "survey", row, "hint", warnings),
                required=str(bind.get("required", "")).strip().lower() in _TRUE,
                relevant=str(bind["relevant"]).strip() if bind.get("relevant") else None,
                constraint=str(bind["constraint"]).strip() if bind.get("constraint") else None,
                constraint_messages=_complete(
                    _by_language(bind.get("jr:constraintMsg")),
                    "survey",
                    row,
                    "constraint_message",
                    warnings,
                ),
                options=tuple(options),
                list_name=list_name or None,
            )
        )
    if problems:
        raise FormRefused(problems)
    titles = _titles(form_json, settings, source_name)
    form_id = str(form_json.get("id_string") or "survey")[:100]
    return ReadForm(SurveyForm(form_id, titles, tuple(questions)), tuple(warnings))


def _titles(form_json: dict[str, Any], settings: Any, source_name: str | None) -> dict[str, str]:
    first: dict[str, Any] = dict(settings[0]) if settings else {}
    texts: dict[str, str] = {}
    for key, value in first.items():
        if str(key).startswith("form_title") and str(value).strip():
            match = _LANGUAGE_CODE.search(str(key))
            texts[match.group(1).lower() if match else "default"] = str(value).strip()[:300]
    fallback = str(form_json.get("title") or source_name or "survey")[:300]
    default = texts.get("default", fallback)
    return {language: texts.get(language, default) for language in LANGUAGES}
