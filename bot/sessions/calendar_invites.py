"""What a member takes away from registering: an `.ics` calendar file and the QR image of
their check-in code. Times are written in `TIMEZONE` with its VTIMEZONE, so calendar apps
show the right hour wherever the phone is set."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from bot.engines import qr
from bot.sessions.registration import Ticket


def calendar_file(
    ticket: Ticket, language: str, timezone: ZoneInfo, now: datetime, organisation: str = "Hiwar"
) -> bytes:
    session = ticket.session
    calendar = Calendar()
    calendar.add("prodid", f"-//{organisation}//Hiwar sessions//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"hiwar-session-{session.id}-{ticket.code}@hiwar")
    event.add("dtstamp", now)
    event.add("dtstart", session.starts_at.astimezone(timezone))
    event.add("dtend", session.ends_at.astimezone(timezone))
    event.add("summary", session.title(language))
    event.add("description", f"{session.description(language)}\n\n{ticket.code}")
    event.add("location", session.venue)
    event.add("sequence", session.version)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def calendar_filename(session_id: int) -> str:
    return f"session-{session_id}.ics"


def qr_png(text: str) -> bytes:
    """The ticket's QR image: a standard QR code (never Micro QR), large modules."""
    return qr.qr_png(text)
