"""Reading what organisers type for a session: dates and times, capacities, reminder offsets.

Shared by the /newsession flow, the edit flow and the command-line import, so the same input
is accepted (and refused with the same reason) everywhere. Iraqi organisers write digits as
Latin or Arabic-Indic, dates as `2026-12-05 17:00` or `5/12/2026 17:00` (day first), and
times on the 24-hour clock or as the bot itself prints them in Arabic: `٥:٣٠ م` (ص = morning,
م = evening), also `5:30 pm`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.engines.numbers import normalise_digits, parse_integer
from bot.members.demographics import GOVERNORATES

MAX_CAPACITY = 5000
MAX_TITLE = 200
MAX_DESCRIPTION = 2000
MAX_VENUE = 300
DEFAULT_REMINDER_MINUTES: tuple[int, ...] = (24 * 60, 2 * 60)
MAX_REMINDER_HOURS = 24 * 14

_CLOCK = r"(\d{1,2})(?:[:.](\d{2}))?\s*(ص|م|صباحا|مساء|am|pm|a\.m\.|p\.m\.)?"
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})[ T,]+" + _CLOCK, re.IGNORECASE)
_DAY_FIRST = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})[ T,]+" + _CLOCK, re.IGNORECASE)
_TIME_ONLY = re.compile(_CLOCK, re.IGNORECASE)
_MORNING = frozenset({"ص", "صباحا", "am", "a.m."})


class InvalidSessionInput(ValueError):
    """An organiser's value was refused; `reason` is a catalogue key suffix."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _clean(text: str) -> str:
    # Arabic organisers may type "٥/١٢/٢٠٢٦ ١٧:٠٠" or use the Arabic comma; tanween and the
    # tatweel of "مساءً" are dropped so "مساءً" and "مساء" read the same.
    cleaned = normalise_digits(text).replace("،", ",").replace("؛", ";")
    cleaned = cleaned.replace("\u064b", "").replace("\u0640", "")
    return " ".join(cleaned.split())


def _clock(hour_text: str, minute_text: str | None, half: str | None) -> tuple[int, int]:
    """Hour and minute on the 24-hour clock; `half` is ص/م (am/pm) or None."""
    hour, minute = int(hour_text), int(minute_text or 0)
    if half is None:
        if minute_text is None:
            raise InvalidSessionInput("bad_datetime")  # a bare "5" is not a time
    elif hour > 12 or hour == 0:
        if half.lower() in _MORNING or hour == 0:
            raise InvalidSessionInput("bad_datetime")
    else:
        morning = half.lower() in _MORNING
        hour = hour % 12 if morning else hour % 12 + 12
    if hour > 23 or minute > 59:
        raise InvalidSessionInput("bad_datetime")
    return hour, minute


def parse_local_datetime(text: str, timezone: ZoneInfo) -> datetime:
    """`2026-12-05 17:00`, `5/12/2026 17:00` or `٥/١٢/٢٠٢٦ ٥:٠٠ م` in `timezone` → aware."""
    cleaned = _clean(text)
    match = _ISO.fullmatch(cleaned)
    if match:
        year, month, day = (int(part) for part in match.groups()[:3])
    else:
        match = _DAY_FIRST.fullmatch(cleaned)
        if not match:
            raise InvalidSessionInput("bad_datetime")
        day, month, year = (int(part) for part in match.groups()[:3])
    hour, minute = _clock(*match.groups()[3:])
    try:
        return datetime(year, month, day, hour, minute, tzinfo=timezone)
    except ValueError:
        raise InvalidSessionInput("bad_datetime") from None


def parse_end(text: str, starts_at: datetime, timezone: ZoneInfo) -> datetime:
    """The end: a full date and time, or just `19:00` on the day the session starts."""
    cleaned = _clean(text)
    match = _TIME_ONLY.fullmatch(cleaned)
    if match:
        hour, minute = _clock(*match.groups())
        day: date = starts_at.astimezone(timezone).date()
        ends_at = datetime.combine(day, time(hour, minute), tzinfo=timezone)
    else:
        ends_at = parse_local_datetime(text, timezone)
    check_times(starts_at, ends_at)
    return ends_at


def check_start(starts_at: datetime, now: datetime) -> None:
    if starts_at <= now:
        raise InvalidSessionInput("in_past")


def check_times(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise InvalidSessionInput("end_before_start")
    if ends_at - starts_at > timedelta(days=7):
        raise InvalidSessionInput("too_long")


def parse_capacity(text: str) -> int:
    value = parse_integer(text)
    if value is None:
        raise InvalidSessionInput("not_a_number")
    if value < 1 or value > MAX_CAPACITY:
        raise InvalidSessionInput("capacity_range")
    return value


def parse_reserved(text: str, capacity: int) -> int:
    value = parse_integer(text)
    if value is None:
        raise InvalidSessionInput("not_a_number")
    if value < 0 or value > capacity:
        raise InvalidSessionInput("reserved_range")
    return value


def parse_reminders(text: str) -> tuple[int, ...]:
    """Hours before the start, e.g. `24, 2` → minutes (1440, 120); `0` or `-` → none."""
    cleaned = _clean(text)
    if cleaned in {"-", "0", "لا"}:
        return ()
    minutes: set[int] = set()
    for part in re.split(r"[,;\s]+", cleaned):
        if not part:
            continue
        hours = parse_integer(part.lower().removesuffix("h").removesuffix("س"))
        if hours is None or not 0 < hours <= MAX_REMINDER_HOURS:
            raise InvalidSessionInput("bad_reminders")
        minutes.add(hours * 60)
    if not minutes or len(minutes) > 5:
        raise InvalidSessionInput("bad_reminders")
    return tuple(sorted(minutes, reverse=True))


def parse_text(text: str | None, limit: int) -> str:
    value = (text or "").strip()
    if not value:
        raise InvalidSessionInput("empty")
    if len(value) > limit:
        raise InvalidSessionInput("too_long_text")
    return value


def parse_governorate(text: str) -> str:
    value = text.strip().lower().replace(" ", "_").replace("-", "_")
    if value not in GOVERNORATES:
        raise InvalidSessionInput("bad_governorate")
    return value


@dataclass(frozen=True)
class SessionDraft:
    """Everything needed to create a session, already validated."""

    title_ar: str
    title_en: str
    description_ar: str
    description_en: str
    governorate: str
    venue: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    reserved_women: int = 0
    reserved_youth: int = 0
    reminder_minutes: tuple[int, ...] = DEFAULT_REMINDER_MINUTES
    venue_en: str | None = None

    def check(self, now: datetime) -> None:
        check_start(self.starts_at, now)
        check_times(self.starts_at, self.ends_at)
        if self.reserved_women + self.reserved_youth > self.capacity:
            raise InvalidSessionInput("reserved_range")


IMPORT_COLUMNS: tuple[str, ...] = (
    "title_ar",
    "title_en",
    "description_ar",
    "description_en",
    "governorate",
    "venue",
    "starts_at",
    "ends_at",
    "capacity",
    "reserved_women",
    "reserved_youth",
    "reminder_hours",
)
REQUIRED_COLUMNS = IMPORT_COLUMNS[:9]


class InvalidRow(ValueError):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(f"{column}: {reason}")
        self.column = column
        self.reason = reason


def draft_from_row(row: dict[str, str], timezone: ZoneInfo, now: datetime) -> SessionDraft:
    """One row of an import file (values as text) → a checked draft, or InvalidRow."""
    column = ""
    try:
        column = "title_ar"
        title_ar = parse_text(row.get(column), MAX_TITLE)
        column = "title_en"
        title_en = parse_text(row.get(column), MAX_TITLE)
        column = "description_ar"
        description_ar = parse_text(row.get(column), MAX_DESCRIPTION)
        column = "description_en"
        description_en = parse_text(row.get(column), MAX_DESCRIPTION)
        column = "governorate"
        governorate = parse_governorate(row.get(column) or "")
        column = "venue"
        venue = parse_text(row.get(column), MAX_VENUE)
        column = "starts_at"
        starts_at = parse_local_datetime(row.get(column) or "", timezone)
        check_start(starts_at, now)
        column = "ends_at"
        ends_at = parse_end(row.get(column) or "", starts_at, timezone)
        column = "capacity"
        capacity = parse_capacity(row.get(column) or "")
        column = "reserved_women"
        women = parse_reserved(row.get(column) or "0", capacity)
        column = "reserved_youth"
        youth = parse_reserved(row.get(column) or "0", capacity - women)
        column = "reminder_hours"
        given = (row.get(column) or "").strip()
        reminders = parse_reminders(given) if given else DEFAULT_REMINDER_MINUTES
    except InvalidSessionInput as error:
        raise InvalidRow(column, error.reason) from None
    return SessionDraft(
        title_ar,
        title_en,
        description_ar,
        description_en,
        governorate,
        venue,
        starts_at,
        ends_at,
        capacity,
        women,
        youth,
        reminders,
    )
