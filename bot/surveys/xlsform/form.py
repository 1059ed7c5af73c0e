"""A survey form as Hiwar runs it: pyxform's model of an XLSForm as plain data.

`SurveyForm` is what the reader produces from a workbook, what is stored with the survey, and
what the answering flow walks. Questions are in form order; each knows the sections (groups and
repeats) it sits in, so a group's `relevant` applies to all its questions and a repeat's
questions are asked once per instance. Labels, hints and messages are kept per language
(`en`, `ar`), already completed with the fallback language where the form lacked one.

Every question has a `key`, unique in the form: its name, or its group path where the same
name is used in several groups (as ODK allows). Answers are stored under the key, with the
repeat instance numbers appended for questions in repeats: `age[2]`, `visit[1.3]`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

LANGUAGES: tuple[str, ...] = ("en", "ar")


class QuestionType(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    SELECT_ONE = "select_one"
    SELECT_MULTIPLE = "select_multiple"
    NOTE = "note"
    DATE = "date"
    TIME = "time"
    DATETIME = "datetime"
    RANGE = "range"
    RANK = "rank"
    ACKNOWLEDGE = "acknowledge"
    GEOPOINT = "geopoint"
    GEOTRACE = "geotrace"
    GEOSHAPE = "geoshape"
    BARCODE = "barcode"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    FILE = "file"
    CALCULATE = "calculate"
    HIDDEN = "hidden"
    START = "start"
    END = "end"
    TODAY = "today"
    DEVICEID = "deviceid"


CHOICE_TYPES = frozenset({QuestionType.SELECT_ONE, QuestionType.SELECT_MULTIPLE})
# Never asked: computed, or recorded by the bot as Kobo records them.
SILENT_TYPES = frozenset(
    {
        QuestionType.CALCULATE,
        QuestionType.HIDDEN,
        QuestionType.START,
        QuestionType.END,
        QuestionType.TODAY,
        QuestionType.DEVICEID,
    }
)
MEDIA_TYPES = frozenset(
    {QuestionType.IMAGE, QuestionType.AUDIO, QuestionType.VIDEO, QuestionType.FILE}
)
LOCATION_TYPES = frozenset({QuestionType.GEOPOINT, QuestionType.GEOTRACE, QuestionType.GEOSHAPE})


@dataclass(frozen=True)
class Option:
    name: str
    labels: dict[str, str]
    fields: dict[str, str] = field(default_factory=dict)  # other columns, for choice_filter


@dataclass(frozen=True)
class Section:
    """A group or repeat: questions `start` to `end - 1` are inside it."""

    name: str
    path: str
    labels: dict[str, str]
    row: int
    start: int
    end: int
    parent: int | None = None
    relevant: str | None = None
    repeat: bool = False
    repeat_count: str | None = None
    appearance: str = ""


@dataclass(frozen=True)
class Question:
    name: str
    type: QuestionType
    labels: dict[str, str]
    row: int
    hints: dict[str, str] = field(default_factory=dict)
    required: bool = False
    relevant: str | None = None
    constraint: str | None = None
    constraint_messages: dict[str, str] = field(default_factory=dict)
    options: tuple[Option, ...] = ()
    list_name: str | None = None
    key: str = ""
    path: str = ""
    sections: tuple[int, ...] = ()  # enclosing sections, outermost first
    repeats: tuple[int, ...] = ()  # the enclosing sections that are repeats
    calculation: str | None = None
    default: str | None = None
    read_only: bool = False
    appearance: str = ""
    choice_filter: str | None = None
    required_messages: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    required_if: str | None = None  # `required` given as an expression, evaluated when asked
    default_dynamic: bool = False  # `default` is an expression (today(), ${other}), not a value

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", self.name)
        if not self.path:
            object.__setattr__(self, "path", self.name)

    @property
    def is_choice(self) -> bool:
        return self.type in CHOICE_TYPES or self.type is QuestionType.RANK

    @property
    def takes_answer(self) -> bool:
        return self.type is not QuestionType.NOTE

    @property
    def asked(self) -> bool:
        """Shown to the member (notes included); calculations and metadata are not."""
        if self.type in SILENT_TYPES:
            return False
        return not (self.read_only and self.type is not QuestionType.NOTE and not self.labels)

    def option_label(self, value: str, language: str) -> str:
        for option in self.options:
            if option.name == value:
                return option.labels.get(language) or value
        return value


_QUESTION_DEFAULTS: dict[str, Any] = {
    "hints": {},
    "required": False,
    "relevant": None,
    "constraint": None,
    "constraint_messages": {},
    "list_name": None,
    "sections": [],
    "repeats": [],
    "calculation": None,
    "default": None,
    "read_only": False,
    "appearance": "",
    "choice_filter": None,
    "required_messages": {},
    "parameters": {},
    "required_if": None,
    "default_dynamic": False,
}


@dataclass(frozen=True)
class SurveyForm:
    form_id: str
    titles: dict[str, str]
    questions: tuple[Question, ...]
    sections: tuple[Section, ...] = ()
    lists: dict[str, tuple[Option, ...]] = field(default_factory=dict)

    def question(self, key: str) -> Question:
        return self.questions[self.index_of(key)]

    def index_of(self, key: str) -> int:
        try:
            return self._index_by_key[key]
        except KeyError:
            return self._index_by_name[key]

    @cached_property
    def _index_by_key(self) -> dict[str, int]:
        return {q.key: i for i, q in enumerate(self.questions)}

    @cached_property
    def _index_by_name(self) -> dict[str, int]:
        names: dict[str, int] = {}
        for index, question in enumerate(self.questions):
            names.setdefault(question.name, index)
        return names

    def find(self, name: str) -> int | None:
        """The question a `${name}` refers to (by name, as pyxform resolves it)."""
        index = self._index_by_name.get(name)
        return index if index is not None else self._index_by_key.get(name)

    @cached_property
    def section_by_name(self) -> dict[str, int]:
        return {s.name: i for i, s in reversed(list(enumerate(self.sections)))}

    @property
    def answerable(self) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.takes_answer)

    @cached_property
    def asked_numbers(self) -> tuple[int, ...]:
        """For each question, how many asked questions come before it, plus one."""
        numbers, count = [], 0
        for question in self.questions:
            if question.asked:
                count += 1
            numbers.append(count)
        return tuple(numbers)

    @cached_property
    def top_sections(self) -> tuple[int, ...]:
        return tuple(i for i, s in enumerate(self.sections) if s.parent is None)

    def to_json(self) -> dict[str, Any]:
        questions = []
        for q in self.questions:
            item: dict[str, Any] = {
                "name": q.name,
                "type": q.type.value,
                "labels": q.labels,
                "row": q.row,
            }
            if q.key != q.name:
                item["key"] = q.key
            if q.path != q.name:
                item["path"] = q.path
            for column, empty in _QUESTION_DEFAULTS.items():
                value = getattr(q, column)
                if isinstance(value, tuple):
                    value = list(value)
                if value != empty:
                    item[column] = value
            if q.options:
                item["options"] = [
                    {
                        "name": o.name,
                        "labels": o.labels,
                        **({"fields": o.fields} if o.fields else {}),
                    }
                    for o in q.options
                ]
            questions.append(item)
        return {
            "form_id": self.form_id,
            "titles": dict(self.titles),
            "questions": questions,
            "sections": [
                {
                    "name": s.name,
                    "path": s.path,
                    "labels": s.labels,
                    "row": s.row,
                    "start": s.start,
                    "end": s.end,
                    "parent": s.parent,
                    "relevant": s.relevant,
                    "repeat": s.repeat,
                    "repeat_count": s.repeat_count,
                    "appearance": s.appearance,
                }
                for s in self.sections
            ],
            "lists": {
                name: [{"name": o.name, "labels": o.labels, "fields": o.fields} for o in options]
                for name, options in self.lists.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SurveyForm:
        questions = []
        for q in data["questions"]:
            values = {column: q.get(column, empty) for column, empty in _QUESTION_DEFAULTS.items()}
            values["sections"] = tuple(values["sections"])
            values["repeats"] = tuple(values["repeats"])
            questions.append(
                Question(
                    name=q["name"],
                    type=QuestionType(q["type"]),
                    labels=dict(q["labels"]),
                    row=int(q["row"]),
                    key=q.get("key", ""),
                    path=q.get("path", ""),
                    options=tuple(
                        Option(o["name"], dict(o["labels"]), dict(o.get("fields") or {}))
                        for o in q.get("options") or ()
                    ),
                    **values,
                )
            )
        sections = tuple(Section(**s) for s in data.get("sections") or ())
        lists = {
            name: tuple(Option(o["name"], dict(o["labels"]), dict(o["fields"])) for o in options)
            for name, options in (data.get("lists") or {}).items()
        }
        return cls(str(data["form_id"]), dict(data["titles"]), tuple(questions), sections, lists)
