"""Reading a typed survey answer (text, whole number, decimal, date) the way members type it.

Numbers and dates accept Arabic-Indic digits (bot.engines.numbers). Dates are typed as
`YYYY-MM-DD` or `D/M/YYYY` (day first, as in Iraq). Answers are stored as XLSForm values:
numbers in plain ASCII (`25`, `3.5`), dates as `YYYY-MM-DD`, text as given (trimmed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.engines.numbers import normalise_digits, parse_decimal, parse_integer
from bot.surveys.xlsform.form import Question, QuestionType

MAX_TEXT_ANSWER = 1000  # characters; a longer answer is refused, never cut
MAX_LONG_TEXT_ANSWER = 4000  # appearance `multiline` (a Telegram message holds 4096)
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_TIME = re.compile(r"(\d{1,2})[:.](\d{2})(?::\d{2})?")
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
        limit = MAX_LONG_TEXT_ANSWER if "multiline" in question.appearance else MAX_TEXT_ANSWER
        if len(text) > limit:
            raise AnswerRejected("surveys.flow.too_long", {"limit": limit, "length": len(text)})
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
    if question.type is QuestionType.TIME:
        clock = parse_time(text)
        if clock is None:
            raise AnswerRejected("surveys.flow.not_time")
        return clock
    if question.type is QuestionType.DATETIME:
        cleaned = normalise_digits(text).strip()
        day_text, _, time_text = cleaned.replace("T", " ").partition(" ")
        day, clock = parse_date(day_text), parse_time(time_text or "00:00")
        if day is None or clock is None:
            raise AnswerRejected("surveys.flow.not_datetime")
        return f"{day.isoformat()}T{clock}"
    if question.type is QuestionType.RANGE:
        return _range_value(question, text)
    if question.type is QuestionType.BARCODE:
        if len(text) > MAX_TEXT_ANSWER:
            raise AnswerRejected(
                "surveys.flow.too_long", {"limit": MAX_TEXT_ANSWER, "length": len(text)}
            )
        return normalise_digits(text)
    raise AnswerRejected("flow.use_buttons")


def parse_time(text: str) -> str | None:
    """ "14:30" / "٢:٣٠" → "14:30:00" (ODK's time without the zone)."""
    match = _TIME.fullmatch(normalise_digits(text).strip())
    if not match:
        return None
    hours, minutes = int(match[1]), int(match[2])
    if hours > 23 or minutes > 59:
        return None
    return f"{hours:02d}:{minutes:02d}:00"


def _range_value(question: Question, text: str) -> str:
    number = parse_decimal(text)
    parameters = question.parameters
    try:
        start = Decimal(parameters.get("start", "1"))
        end = Decimal(parameters.get("end", "10"))
        step = Decimal(parameters.get("step", "1"))
    except InvalidOperation:
        start, end, step = Decimal(1), Decimal(10), Decimal(1)
    low, high = min(start, end), max(start, end)
    fits = number is not None and number.is_finite() and low <= number <= high
    if not fits or (step and (number - start) % step != 0):  # type: ignore[operator]
        raise AnswerRejected(
            "surveys.flow.not_in_range", {"start": str(low), "end": str(high), "step": str(step)}
        )
    normalised = format(number.normalize(), "f")  # type: ignore[union-attr]
    return "0" if normalised in ("-0", "") else normalised


def display_answer(question: Question, value: str, language: str) -> str:
    """An answer as the member reads it (choice labels instead of choice names)."""
    if question.is_choice:
        separator = "، " if language == "ar" else ", "  # the Arabic comma in Arabic lists
        return separator.join(question.option_label(token, language) for token in value.split())
    if ":" in value and question.type.value in ("image", "audio", "video", "file", "barcode"):
        kind = value.split(":", 1)[0]
        return {"photo": "📷", "voice": "🎤", "audio": "🎵", "video": "🎬"}.get(kind, "📎")
    return value
