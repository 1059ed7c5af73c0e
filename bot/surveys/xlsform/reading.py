"""Reading an XLSForm workbook through pyxform's own model of the survey (SPEC §3.3).

pyxform (the reference XLSForm library, as used by ODK and Kobo) reads the sheets (.xlsx and
.xls) and builds the form JSON (`workbook_to_json`): names, groups, repeats, choices,
translations and `or_other` mean here what they mean there, and whatever pyxform refuses is
refused with pyxform's own reason, sheet and row. Hiwar walks that JSON into a `SurveyForm`
and refuses only what it cannot run in a chat: an expression its evaluator does not parse (for
instance `pulldata()`, which needs a device-side CSV), choices from a file the workbook does
not carry. Languages are mapped to the bot's by code or by name (`label::Arabic`,
`label::Arabic (ar)`, `label::العربية (ar)`, `label::ar`, or a plain `label` with the
`default_language` setting); a bot language the form lacks is a warning, and another language
is used.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import PurePath
from typing import Any

from pyxform.errors import PyXFormError
from pyxform.question_type_dictionary import QUESTION_TYPE_DICT
from pyxform.utils import default_is_dynamic
from pyxform.xls2json import workbook_to_json
from pyxform.xls2json_backends import get_xlsform

from bot.surveys.xlsform.expressions import ExpressionError, parse
from bot.surveys.xlsform.form import (
    LANGUAGES,
    Option,
    Question,
    QuestionType,
    Section,
    SurveyForm,
)

MAX_WORKBOOK_BYTES = 2_000_000
MAX_KEY_LENGTH = 52  # answers are stored as key + repeat instances in 64 characters
MAX_LABEL_LENGTH = 1000
LONG_FORM = 60  # asked questions; more is a warning that the form may be long for a chat
MAX_WARNINGS = 25

_TRUE = frozenset({"yes", "true", "true()", "1"})
_FALSE = frozenset({"", "no", "false", "false()", "0"})
_LANGUAGE_CODE = re.compile(r"\(\s*([A-Za-z]{2,3}(?:-[A-Za-z0-9]+)?)\s*\)\s*$")
_LANGUAGE_NAMES = {
    "english": "en",
    "en": "en",
    "eng": "en",
    "arabic": "ar",
    "ar": "ar",
    "ara": "ar",
    "العربية": "ar",
    "عربي": "ar",
    "عربى": "ar",
    "اللغة العربية": "ar",
}
_PYXFORM_ROW = re.compile(r"\[row\s*:\s*(\d+)\]")
_PYXFORM_SHEET = re.compile(r"'(survey|choices|settings|external_choices|entities)' sheet")
_XLS_MAGIC = b"\xd0\xcf\x11\xe0"
_NOT_STORED = frozenset(
    {
        *("username", "email", "phonenumber", "simserial", "subscriberid", "audit"),
        *("start-geopoint", "background-audio", "xml-external", "csv-external"),
    }
)
_PRELOAD = {
    "start": QuestionType.START,
    "end": QuestionType.END,
    "today": QuestionType.TODAY,
    "deviceid": QuestionType.DEVICEID,
}
_BIND_TYPES = {
    "string": QuestionType.TEXT,
    "int": QuestionType.INTEGER,
    "decimal": QuestionType.DECIMAL,
    "date": QuestionType.DATE,
    "time": QuestionType.TIME,
    "dateTime": QuestionType.DATETIME,
    "geopoint": QuestionType.GEOPOINT,
    "geotrace": QuestionType.GEOTRACE,
    "geoshape": QuestionType.GEOSHAPE,
    "barcode": QuestionType.BARCODE,
}
_MEDIA = {
    "image": QuestionType.IMAGE,
    "audio": QuestionType.AUDIO,
    "video": QuestionType.VIDEO,
}


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
    """Parse and check a workbook (.xlsx or .xls); raises FormRefused with every problem."""
    if len(content) > MAX_WORKBOOK_BYTES:
        raise FormRefused([FormProblem(None, None, "too_large")])
    file_type = ".xls" if content.startswith(_XLS_MAGIC) else ".xlsx"
    try:
        workbook = get_xlsform(BytesIO(content), file_type=file_type)
    except (PyXFormError, ValueError, OSError, KeyError, TypeError):
        raise FormRefused([FormProblem(None, None, "unreadable")]) from None
    if not workbook.survey:
        raise FormRefused([FormProblem("survey", None, "missing_sheet")])
    workbook = _keep_translations(workbook)
    stem = _form_name(source_name)
    pyxform_warnings: list[str] = []
    try:
        form_json = workbook_to_json(
            workbook, form_name=stem, default_language="default", warnings=pyxform_warnings
        )
    except PyXFormError as error:
        raise FormRefused([from_pyxform(str(error))]) from None
    except Exception as error:  # pyxform's own bug on an odd workbook: still say where
        raise FormRefused([from_pyxform(f"{type(error).__name__}: {error}")]) from None
    settings = dict(workbook.settings[0]) if workbook.settings else {}
    builder = _Builder(form_json, workbook, settings, _row_numbers(workbook.survey), source_name)
    return builder.build()


_TRANSLATED = ("label", "hint", "constraint_message", "required_message", "guidance_hint")


def _keep_translations(workbook: Any) -> Any:
    """A plain `label` beside `label::Arabic` becomes `label::default` (pyxform would let the
    plain column overwrite every translation)."""
    changes: dict[str, Any] = {}
    for sheet in ("survey", "choices"):
        rows = getattr(workbook, sheet, None)
        if not rows:
            continue
        headers = {str(k) for row in rows for k in dict(row)}
        plain = [
            c for c in _TRANSLATED if c in headers and any(h.startswith(f"{c}::") for h in headers)
        ]
        if plain:
            changes[sheet] = [
                {(f"{k}::default" if k in plain else k): v for k, v in dict(row).items()}
                for row in rows
            ]
            header_rows = getattr(workbook, f"{sheet}_header", None) or []
            changes[f"{sheet}_header"] = [
                {(f"{k}::default" if k in plain else k): v for k, v in dict(row).items()}
                for row in header_rows
            ]
    return dataclasses.replace(workbook, **changes) if changes else workbook


def _form_name(source_name: str | None) -> str:
    stem = PurePath(source_name or "survey").stem
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", stem).strip("_") or "survey"
    return cleaned if cleaned[0].isalpha() else f"form_{cleaned}"


def from_pyxform(message: str) -> FormProblem:
    """pyxform's reason, with the sheet and the (first) row it names."""
    row_match = _PYXFORM_ROW.search(message)
    sheet_match = _PYXFORM_SHEET.search(message)
    if sheet_match:
        sheet: str | None = sheet_match.group(1)
    elif row_match:
        sheet = "survey"
    elif "choices" in message.lower():
        sheet = "choices"
    else:
        sheet = None
    first = message
    rows = list(_PYXFORM_ROW.finditer(message))
    if len(rows) > 1:  # pyxform lists one reason per row: keep the first, count the rest
        first = message[: rows[1].start()]
    clean = " ".join(_PYXFORM_ROW.sub("", first).split())
    details = {"message": clean[:400]}
    if len(rows) > 1:
        details["message"] += f" (+{len(rows) - 1})"
    return FormProblem(sheet, int(row_match.group(1)) if row_match else None, "pyxform", details)


def _row_numbers(rows: Any) -> dict[str, int]:
    """Sheet row of every named survey row, by its group path (as pyxform nests them)."""
    numbers: dict[str, int] = {}
    stack: list[str] = []
    for index, raw in enumerate(rows):
        row = {str(k).strip().lower(): v for k, v in dict(raw).items()}
        kind = " ".join(str(row.get("type", "")).replace("_", " ").lower().split())
        name = str(row.get("name", "")).strip()
        if kind.startswith("end ") and kind.split()[-1] in ("group", "repeat", "loop"):
            if stack:
                stack.pop()
            continue
        path = "/".join([*stack, name])
        if name:
            numbers.setdefault(path, index + 2)
        if kind.startswith("begin ") and kind.split()[-1] in ("group", "repeat", "loop"):
            stack.append(name)
    return numbers


def language_code(key: str, default_language: str | None) -> str | None:
    """ "en"/"ar" for a language header; "default" for a plain column; None for others."""
    text = key.strip()
    if text == "default":
        return language_code(default_language, None) if default_language else "default"
    match = _LANGUAGE_CODE.search(text)
    if match:
        code = match.group(1).lower().split("-")[0]
        return code if code in LANGUAGES else None
    code = _LANGUAGE_NAMES.get(text.lower())
    return code


def _dynamic(default: Any, kind: QuestionType) -> bool:
    """Whether a `default` is an expression, as pyxform decides (dates keep their dashes)."""
    text = str(default or "").strip()
    element = "dateTime" if kind is QuestionType.DATETIME else kind.value
    return bool(text) and bool(default_is_dynamic(text, element))


def _parameters(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    pairs = (part.split("=", 1) for part in str(value or "").replace(";", " ").split())
    return {pair[0].strip(): pair[1].strip() for pair in pairs if len(pair) == 2}


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


class _Builder:
    def __init__(
        self,
        form_json: dict[str, Any],
        workbook: Any,
        settings: dict[str, Any],
        rows: dict[str, int],
        source_name: str | None,
    ) -> None:
        self.json = form_json
        self.workbook = workbook
        self.settings = settings
        self.rows = rows
        self.source_name = source_name
        default = str(settings.get("default_language") or "").strip()
        self.default_language = default or None
        self.problems: list[FormProblem] = []
        self.warnings: list[FormProblem] = []
        self.questions: list[dict[str, Any]] = []
        self.sections: list[dict[str, Any]] = []
        self.languages: set[str] = set()
        self.names: set[str] = set()
        self.choice_rows = {
            (str(r.get("list_name", "")).strip(), str(r.get("name", "")).strip()): i + 2
            for i, r in enumerate(dict(row) for row in workbook.choices or ())
        }

    # ------------------------------------------------------------------ languages

    def texts(self, value: Any) -> dict[str, str]:
        if value is None:
            return {}
        if isinstance(value, str):
            value = {"default": value}
        result: dict[str, str] = {}
        for language, text in dict(value).items():
            if not isinstance(text, str) or not text.strip():
                continue
            code: str | None = language_code(str(language), self.default_language)
            if code is None:
                result.setdefault("other", text.strip()[:MAX_LABEL_LENGTH])
                continue
            if code != "default":
                self.languages.add(code)
            result.setdefault(code, text.strip()[:MAX_LABEL_LENGTH])
        return result

    def complete(self, texts: dict[str, str], sheet: str, row: int, column: str) -> dict[str, str]:
        """Both bot languages; a missing one taken from the other (a warning if the form
        has that language elsewhere; a form-wide warning is given once otherwise)."""
        if not texts:
            return {}
        result: dict[str, str] = {}
        for language in LANGUAGES:
            text = texts.get(language) or texts.get("default")
            if text is None:
                text = next((texts[o] for o in (*LANGUAGES, "other") if texts.get(o)), "")
                if language in self.languages:
                    details = {"column": column, "language": language}
                    self.warn(FormProblem(sheet, row, "label_fallback", details))
            result[language] = text
        return result

    def warn(self, problem: FormProblem) -> None:
        self.warnings.append(problem)

    # ------------------------------------------------------------------ walking

    def collect_languages(self, node: dict[str, Any]) -> None:
        for child in node.get("children", []):
            self.texts(child.get("label"))
            self.collect_languages(child)

    def build(self) -> ReadForm:
        self.collect_languages(self.json)
        for child in self.json.get("children", []):
            self.walk(child, "", None, ())
        if self.problems:
            raise FormRefused(self.problems)
        keys = self.assign_keys()
        questions = tuple(
            Question(**q, key=key) for q, key in zip(self.questions, keys, strict=True)
        )
        sections = tuple(Section(**s) for s in self.sections)
        asked = sum(1 for q in questions if q.asked)
        if asked == 0:
            raise FormRefused([FormProblem("survey", None, "no_questions")])
        warnings = self.warnings
        for language in LANGUAGES:
            if self.languages and language not in self.languages:
                details = {"language": language, "found": ", ".join(sorted(self.languages))}
                warnings.insert(0, FormProblem(None, None, "language_missing", details))
        if asked > LONG_FORM:
            warnings.append(FormProblem(None, None, "long_form", {"count": str(asked)}))
        if len(warnings) > MAX_WARNINGS:
            more = len(warnings) - MAX_WARNINGS
            warnings = [
                *warnings[:MAX_WARNINGS],
                FormProblem(None, None, "more_warnings", {"count": str(more)}),
            ]
        form_id = str(self.json.get("id_string") or "survey")[:100]
        form = SurveyForm(form_id, self.titles(), questions, sections, self.lists())
        return ReadForm(form, tuple(warnings))

    def walk(
        self, node: dict[str, Any], prefix: str, parent: int | None, sections: tuple[int, ...]
    ) -> None:
        kind = str(node.get("type", ""))
        name = str(node.get("name", ""))
        path = f"{prefix}{name}"
        row = self.rows.get(path, 0)
        if kind in ("group", "repeat"):
            if name == "meta" and parent is None and kind == "group":
                return  # pyxform's own instanceID

            bind = dict(node.get("bind") or {})
            control = dict(node.get("control") or {})
            index = len(self.sections)
            relevant = self.expression(bind.get("relevant"), row, "relevant")
            count = self.expression(control.get("jr:count"), row, "repeat_count")
            labels = self.complete(self.texts(node.get("label")), "survey", row, "label")
            self.sections.append(
                {
                    "name": name,
                    "path": path,
                    "labels": labels,
                    "row": row,
                    "start": len(self.questions),
                    "end": len(self.questions),
                    "parent": parent,
                    "relevant": relevant,
                    "repeat": kind == "repeat",
                    "repeat_count": count,
                    "appearance": str(control.get("appearance") or "").strip().lower(),
                }
            )
            for child in node.get("children", []):
                self.walk(child, f"{path}/", index, (*sections, index))
            self.sections[index]["end"] = len(self.questions)
            return
        question_type = self.question_type(node)
        if question_type is None:
            return
        self.question(node, question_type, name, path, row, sections)

    def question_type(self, node: dict[str, Any]) -> QuestionType | None:
        kind = str(node.get("type", ""))
        if kind in _NOT_STORED or kind.startswith("background"):
            return None
        if kind in _PRELOAD:
            return _PRELOAD[kind]
        if kind in ("select one", "select one external", "select_one_from_file"):
            return QuestionType.SELECT_ONE
        if kind in ("select all that apply", "select_multiple_from_file"):
            return QuestionType.SELECT_MULTIPLE
        if kind == "rank":
            return QuestionType.RANK
        if kind == "note":
            return QuestionType.NOTE
        if kind in ("acknowledge", "trigger", "q acknowledge"):
            return QuestionType.ACKNOWLEDGE
        if kind == "hidden":
            return QuestionType.HIDDEN
        if kind == "range":
            return QuestionType.RANGE
        spec = dict(QUESTION_TYPE_DICT.get(kind) or {})
        bind = dict(spec.get("bind") or {})
        control = dict(spec.get("control") or {})
        preload = str(bind.get("jr:preloadParams") or "")
        if preload in ("start", "end", "today", "deviceid", "uri:deviceid"):
            return _PRELOAD[preload.removeprefix("uri:")]
        if bind.get("jr:preload"):
            return None  # other device properties: never stored
        if kind == "calculate" or (not control and "calculate" in dict(node.get("bind") or {})):
            return QuestionType.CALCULATE
        if control.get("tag") == "upload":
            media = str(control.get("mediatype", "")).split("/")[0]
            return _MEDIA.get(media, QuestionType.FILE)
        if control.get("tag") == "trigger":
            return QuestionType.ACKNOWLEDGE
        found = _BIND_TYPES.get(str(bind.get("type", "")))
        if found is None:
            self.problems.append(FormProblem("survey", 0, "unsupported_type", {"type": kind}))
        return found

    def expression(self, source: Any, row: int, column: str, fields: bool = False) -> str | None:
        if source is None:
            return None
        text = str(source).strip()
        if not text:
            return None
        try:
            parse(text, fields)
        except ExpressionError as error:
            self.problems.append(_expression_problem(row, column, text, error))
            return None
        return text

    def question(
        self,
        node: dict[str, Any],
        kind: QuestionType,
        name: str,
        path: str,
        row: int,
        sections: tuple[int, ...],
    ) -> None:
        bind = dict(node.get("bind") or {})
        control = dict(node.get("control") or {})
        labels = self.complete(self.texts(node.get("label")), "survey", row, "label")
        hints = self.complete(self.texts(node.get("hint")), "survey", row, "hint")
        if not labels and kind not in (QuestionType.CALCULATE, QuestionType.HIDDEN):
            labels = hints or (
                dict.fromkeys(LANGUAGES, name) if kind not in _PRELOAD.values() else {}
            )
        required_text = str(bind.get("required", "")).strip()
        required_source = required_text.lower()
        required_if = None
        if required_source not in _TRUE and required_source not in _FALSE:
            try:
                parse(required_text)
                required_if = required_text
            except ExpressionError as error:  # ODK reads it as a missing node: not required
                problem = _expression_problem(row, "required", required_text, error)
                self.warn(dataclasses.replace(problem, code="required_unreadable"))
        options, list_name = self.options(node, kind, row)
        if kind in (QuestionType.SELECT_ONE, QuestionType.SELECT_MULTIPLE) and not options:
            kind = QuestionType.TEXT  # choices from a file the workbook lacks: typed
        parameters = node.get("parameters") or {}
        default = node.get("default")
        self.questions.append(
            {
                "name": name,
                "type": kind,
                "labels": labels,
                "row": row,
                "hints": hints,
                "required": required_source in _TRUE,
                "required_if": required_if,
                "relevant": self.expression(bind.get("relevant"), row, "relevant"),
                "constraint": self.expression(bind.get("constraint"), row, "constraint"),
                "constraint_messages": self.complete(
                    self.texts(bind.get("jr:constraintMsg")), "survey", row, "constraint_message"
                ),
                "required_messages": self.complete(
                    self.texts(bind.get("jr:requiredMsg")), "survey", row, "required_message"
                ),
                "options": options,
                "list_name": list_name,
                "path": path,
                "sections": sections,
                "repeats": tuple(i for i in sections if self.sections[i]["repeat"]),
                "calculation": self.expression(bind.get("calculate"), row, "calculation"),
                "default": str(default).strip() if default not in (None, "") else None,
                "default_dynamic": _dynamic(default, kind),
                "read_only": str(bind.get("readonly", "")).strip().lower() in _TRUE,
                "appearance": str(control.get("appearance") or "").strip().lower(),
                "choice_filter": self.choice_filter(node, row),
                "parameters": _parameters(parameters),
            }
        )

    def choice_filter(self, node: dict[str, Any], row: int) -> str | None:
        source = str(node.get("choice_filter") or "").strip()
        if not source or source in ("true()", "true"):
            return None
        return self.expression(source, row, "choice_filter", fields=True)

    def options(
        self, node: dict[str, Any], kind: QuestionType, row: int
    ) -> tuple[tuple[Option, ...], str | None]:
        if kind not in (QuestionType.SELECT_ONE, QuestionType.SELECT_MULTIPLE, QuestionType.RANK):
            return (), None
        list_name = str(node.get("itemset") or node.get("list_name") or "")
        choices = node.get("choices")
        if not choices:
            choices = (self.json.get("choices") or {}).get(list_name)
        if not choices:
            choices = self.external(list_name, str(node.get("type", "")), row)
        options = []
        for choice in choices or ():
            choice_name = str(choice.get("name", "")).strip()
            texts = self.texts(choice.get("label"))
            choice_row = self.choice_rows.get((list_name, choice_name), 0)
            labels = self.complete(texts, "choices", choice_row, "label") or dict.fromkeys(
                LANGUAGES, choice_name
            )
            extra = {
                str(k): str(v)
                for k, v in choice.items()
                if k not in ("name", "label", "media") and isinstance(v, str | int | float)
            }
            options.append(Option(choice_name, labels, extra))
        return tuple(options), list_name or None

    def external(self, list_name: str, kind: str, row: int) -> list[dict[str, Any]]:
        """Choices of select_one_from_file / select one external: the `external_choices`
        sheet of the same workbook, under the file's name (with or without `.csv`)."""
        stem = PurePath(list_name).stem
        rows = [dict(r) for r in self.workbook.external_choices or ()]
        found = [r for r in rows if str(r.get("list_name", "")).strip() in (list_name, stem)]
        if not found:
            details = {"list": list_name or kind}
            self.warn(FormProblem("survey", row, "external_choices", details))
            return []
        choices = []
        for r in found:
            labels = {
                str(k).split("::", 1)[1] if "::" in str(k) else "default": str(v)
                for k, v in r.items()
                if str(k).startswith("label") and v
            }
            extra = {
                str(k): str(v)
                for k, v in r.items()
                if k not in ("list_name", "name") and not str(k).startswith("label")
            }
            choices.append({"name": str(r.get("name", "")), "label": labels, **extra})
        return choices

    def lists(self) -> dict[str, tuple[Option, ...]]:
        """Choice lists read by `instance('list')/root/item[...]` in an expression."""
        sources = " ".join(
            str(q.get(c) or "") for q in self.questions for c in ("calculation", "relevant")
        )
        wanted = set(re.findall(r"instance\(\s*'([^']+)'", sources))
        found: dict[str, tuple[Option, ...]] = {}
        for name in sorted(wanted):
            choices = (self.json.get("choices") or {}).get(name) or ()
            found[name] = tuple(
                Option(
                    str(c.get("name", "")),
                    self.complete(self.texts(c.get("label")), "choices", 0, "label"),
                    {str(k): str(v) for k, v in c.items() if isinstance(v, str | int | float)},
                )
                for c in choices
            )
        return found

    def assign_keys(self) -> list[str]:
        counts: dict[str, int] = {}
        for question in self.questions:
            counts[question["name"]] = counts.get(question["name"], 0) + 1
        keys: list[str] = []
        used: set[str] = set()
        for index, question in enumerate(self.questions):
            key = question["name"] if counts[question["name"]] == 1 else question["path"]
            if len(key) > MAX_KEY_LENGTH or key in used or "[" in key:
                key = f"{question['name'][: MAX_KEY_LENGTH - 8]}~{index}"
            used.add(key)
            keys.append(key)
        return keys

    def titles(self) -> dict[str, str]:
        texts: dict[str, str] = {}
        for key, value in self.settings.items():
            key_text = str(key).strip()
            if not key_text.startswith("form_title") or not str(value).strip():
                continue
            language = key_text.split("::", 1)[1] if "::" in key_text else "default"
            code = language_code(language, self.default_language) or "other"
            texts.setdefault(code, str(value).strip()[:300])
        fallback = PurePath(self.source_name).stem if self.source_name else "survey"
        default = (
            texts.get("default")
            or texts.get("other")
            or next((texts[code] for code in LANGUAGES if code in texts), fallback[:300])
        )
        return {language: texts.get(language, default) for language in LANGUAGES}
