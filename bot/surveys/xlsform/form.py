"""A survey form as Hiwar runs it: the supported XLSForm subset (SPEC §3.3) as plain data.

`SurveyForm` is what the reader produces from a workbook, what is stored with the survey, and
what the answering flow walks. Labels, hints and constraint messages are kept per language
(`en`, `ar`), already completed with the fallback language where the form lacked one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
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


CHOICE_TYPES = frozenset({QuestionType.SELECT_ONE, QuestionType.SELECT_MULTIPLE})


@dataclass(frozen=True)
class Option:
    name: str
    labels: dict[str, str]


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

    @property
    def is_choice(self) -> bool:
        return self.type in CHOICE_TYPES

    @property
    def takes_answer(self) -> bool:
        return self.type is not QuestionType.NOTE

    def option_label(self, value: str, language: str) -> str:
        for option in self.options:
            if option.name == value:
                return option.labels.get(language) or value
        return value


@dataclass(frozen=True)
class SurveyForm:
    form_id: str
    titles: dict[str, str]
    questions: tuple[Question, ...]

    def question(self, name: str) -> Question:
        for question in self.questions:
            if question.name == name:
                return question
        raise KeyError(name)

    def index_of(self, name: str) -> int:
        for index, question in enumerate(self.questions):
            if question.name == name:
                return index
        raise KeyError(name)

    @property
    def answerable(self) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.takes_answer)

    def to_json(self) -> dict[str, Any]:
        return {
            "form_id": self.form_id,
            "titles": dict(self.titles),
            "questions": [
                {
                    "name": q.name,
                    "type": q.type.value,
                    "labels": q.labels,
                    "row": q.row,
                    "hints": q.hints,
                    "required": q.required,
                    "relevant": q.relevant,
                    "constraint": q.constraint,
                    "constraint_messages": q.constraint_messages,
                    "list_name": q.list_name,
                    "options": [{"name": o.name, "labels": o.labels} for o in q.options],
                }
                for q in self.questions
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SurveyForm:
        return cls(
            form_id=str(data["form_id"]),
            titles=dict(data["titles"]),
            questions=tuple(
                Question(
                    name=q["name"],
                    type=QuestionType(q["type"]),
                    labels=dict(q["labels"]),
                    row=int(q["row"]),
                    hints=dict(q.get("hints") or {}),
                    required=bool(q.get("required")),
                    relevant=q.get("relevant"),
                    constraint=q.get("constraint"),
                    constraint_messages=dict(q.get("constraint_messages") or {}),
                    list_name=q.get("list_name"),
                    options=tuple(
                        Option(o["name"], dict(o["labels"])) for o in q.get("options") or ()
                    ),
                )
                for q in data["questions"]
            ),
        )
