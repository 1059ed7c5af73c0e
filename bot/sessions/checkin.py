"""At the door: reading check-in codes (typed, or the text of the QR image) and marking
attendance. Codes are unique within a session; a bare code is looked up among the sessions
happening around now, and `S12-K7MXPA` or `12 K7MXPA` names the session outright."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.engines.audit import record_action
from bot.engines.numbers import normalise_digits
from bot.sessions.lifecycle import CONFIRMED, PUBLISHED
from bot.sessions.registration import CODE_ALPHABET, CODE_LENGTH, Ticket, ticket_of
from storage.database import UnitOfWork
from storage.models import DialogueSession, SessionRegistration

CHECK_IN_WINDOW = timedelta(hours=24)
_QR_CODE = re.compile(rf"S(\d+)-([{CODE_ALPHABET}]{{{CODE_LENGTH}}})")
_ID_AND_CODE = re.compile(rf"(\d+)\s+([{CODE_ALPHABET}]{{{CODE_LENGTH}}})")
_CODE = re.compile(rf"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")


class CodeNotFound(LookupError):
    pass


class AmbiguousCode(Exception):
    pass


class NotConfirmed(Exception):
    def __init__(self, ticket: Ticket) -> None:
        super().__init__(ticket.code)
        self.ticket = ticket


def read_check_in_code(text: str) -> tuple[int | None, str]:
    """`S12-K7MXPA` (from the QR), `12 K7MXPA` or `K7MXPA`; any case, any digits."""
    cleaned = normalise_digits(text).upper().strip()
    for pattern in (_QR_CODE, _ID_AND_CODE):
        match = pattern.fullmatch(cleaned)
        if match:
            return int(match.group(1)), match.group(2)
    if _CODE.fullmatch(cleaned):
        return None, cleaned
    raise CodeNotFound(cleaned)


async def check_in(uow: UnitOfWork, *, text: str, actor_id: int, now: datetime) -> Ticket:
    """Mark attendance by code. A bare code is looked up among sessions on around now."""
    session_id, code = read_check_in_code(text)
    query = (
        select(SessionRegistration)
        .join(DialogueSession, DialogueSession.id == SessionRegistration.session_id)
        .where(SessionRegistration.code == code, DialogueSession.status == PUBLISHED)
    )
    if session_id is not None:
        query = query.where(SessionRegistration.session_id == session_id)
    else:
        query = query.where(
            DialogueSession.starts_at <= now + CHECK_IN_WINDOW,
            DialogueSession.ends_at >= now - CHECK_IN_WINDOW,
        )
    matches = list(await uow.session.scalars(query))
    if not matches:
        raise CodeNotFound(code)
    if len(matches) > 1:
        raise AmbiguousCode(code)
    registration = matches[0]
    if registration.status != CONFIRMED:
        raise NotConfirmed(await ticket_of(uow, registration))
    first_time = registration.checked_in_at is None
    if first_time:
        registration.checked_in_at = now
        await record_action(
            uow,
            actor_id=actor_id,
            action="session.check_in",
            record_type="session",
            record_id=str(registration.session_id),
            details={"registration": registration.id},
            now=now,
        )
        await uow.session.flush()
    return await ticket_of(uow, registration)
