"""Reading a typed survey answer (text, whole number, decimal, date) the way members type it.

Numbers and dates accept Arabic-Indic digits (bot.engines.numbers). Dates are typed as
`YYYY-MM-DD` or `D/M/YYYY` (day first, as in Iraq). Answers are stored as XLSForm values:
numbers in plain ASCII (`25`, `3.5`), dates as `YYYY-MM-DD`, text as given (trimmed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.engines.numbers import normalise_digits, parse_decimal, parse_integer
from bot.surveys.xlsform.form import Question, QuestionType

MAX_TEXT_ANSWER = 1000  # characters; a longer answer is refused, never cut
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DAY_FIRST = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")


@dataclass
class AnswerRejected(Exception):
    """The answer cannot be used; `key` is the catalogue message that says why."""

    key: str
    variables: dict[str, Any] = field(default_factory=dict)


def parse_date(text: str) -> date | None:
    cleaned = normalise_digits(text).replace(" ", "")
    iso = _ISO.fullmatch(cleaned)
    day_first = _DAY_FIRST.fullmatch(cleaned)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        if day_first:
            return date(int(day_first[3]), int(day_first[2]), int(day_first[1]))
    except ValueError:
        return None
    return None


def parse_typed_answer(question: Question, text: str) -> str:
    """The stored value for a typed answer ("" when blank); raises AnswerRejected."""
    text = text.strip()
    if not text:
        return ""
    if question.type is QuestionType.TEXT:
        if len(text) > MAX_TEXT_ANSWER:
            raise AnswerRejected(
                "surveys.flow.too_long", {"limit": MAX_TEXT_ANSWER, "length": len(text)}
            )
        return text
    if question.type is QuestionType.INTEGER:
        number = parse_integer(text)
        if number is None:
            raise AnswerRejected("surveys.flow.not_integer")
        return str(number)
    if question.type is QuestionType.DECIMAL:
        decimal = parse_decimal(text)
        if decimal is None or not decimal.is_finite():
            raise AnswerRejected("surveys.flow.not_decimal")
        normalised = format(decimal.normalize(), "f")
        return "0" if normalised in ("-0", "") else normalised
    if question.type is QuestionType.DATE:
        day = parse_date(text)
        if day is None:
            raise AnswerRejected("surveys.flow.not_date")
        return day.isoformat()
    raise AnswerRejected("flow.use_buttons")


def display_answer(question: Question, value: str, language: str) -> str:
    """An answer as the member reads it (choice labels instead of choice names)."""
    if question.is_choice:
        return ", ".join(question.option_label(token, language) for token in value.split())
    return value
