"""Registering for sessions without ever overselling a seat, the waiting list, check-in.

Every change to who holds a seat first locks the session row (`SELECT … FOR UPDATE` on
PostgreSQL; on SQLite every write transaction is `BEGIN IMMEDIATE`, which serialises
writers), then counts the seats taken. So a hundred members pressing "register" at the same
moment for forty seats give exactly forty confirmed places and sixty on the waiting list.

Reserved seats: with `reserved_women`/`reserved_youth`, that many seats are held for women
and for young people (under 25) until they are taken; others go on the waiting list when
only held seats remain.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from bot.engines.outbox import queue_text
from bot.engines.tasks import schedule_task
from bot.sessions.lifecycle import (
    ACTIVE,
    CANCELLED,
    CONFIRMED,
    PUBLISHED,
    WAITING,
    WITHDRAWN,
    SessionCancelled,
    SessionChanged,
    SessionNotFound,
    SessionView,
    lock_session,
    session_variables,
    view_of,
)
from messages import Catalogue
from storage.database import UnitOfWork
from storage.models import DialogueSession, Member, SessionFeedback, SessionRegistration

# No 0/O, 1/I/L, 2/Z, 5/S, 6/G, 8/B: easy to read aloud and to type from a printout.
CODE_ALPHABET = "ACDEFHJKMNPRTUVWXY3479"
CODE_LENGTH = 6
YOUTH_AGE_GROUPS = frozenset({"under_18", "18_24"})
PROMOTE_TASK = "sessions.promote"


class SessionStarted(Exception):
    pass


class AlreadyRegistered(Exception):
    def __init__(self, ticket: Ticket) -> None:
        super().__init__(ticket.code)
        self.ticket = ticket


class RegistrationNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Ticket:
    """A member's place in one session: what the confirmation and /mysessions show."""

    registration_id: int
    session: SessionView
    status: str
    code: str
    position: int  # place on the waiting list, 0 when confirmed
    checked_in_at: datetime | None = None

    @property
    def qr_text(self) -> str:
        return qr_text(self.session.id, self.code)


def qr_text(session_id: int, code: str) -> str:
    """What the QR image holds; /checkin accepts it as well as the bare code."""
    return f"S{session_id}-{code}"


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def has_seat(row: DialogueSession, taken: tuple[int, int, int], woman: bool, youth: bool) -> bool:
    """Whether one more person fits while the unmet reserved seats stay held."""
    confirmed, women, young = taken
    unmet_women = max(row.reserved_women - women - int(woman), 0)
    unmet_youth = max(row.reserved_youth - young - int(youth), 0)
    return confirmed + 1 + unmet_women + unmet_youth <= row.capacity


async def _taken(uow: UnitOfWork, session_id: int) -> tuple[int, int, int]:
    confirmed = SessionRegistration.status == CONFIRMED
    row = (
        await uow.session.execute(
            select(
                func.count(),
                func.count().filter(SessionRegistration.counts_as_woman),
                func.count().filter(SessionRegistration.counts_as_youth),
            ).where(SessionRegistration.session_id == session_id, confirmed)
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


async def _position(uow: UnitOfWork, registration: SessionRegistration) -> int:
    if registration.status != WAITING:
        return 0
    ahead = await uow.session.scalar(
        select(func.count()).where(
            SessionRegistration.session_id == registration.session_id,
            SessionRegistration.status == WAITING,
            (SessionRegistration.queued_at < registration.queued_at)
            | (
                (SessionRegistration.queued_at == registration.queued_at)
                & (SessionRegistration.id < registration.id)
            ),
        )
    )
    return int(ahead or 0) + 1


async def ticket_of(uow: UnitOfWork, registration: SessionRegistration) -> Ticket:
    row = await uow.session.get(DialogueSession, registration.session_id)
    assert row is not None
    return Ticket(
        registration.id,
        await view_of(uow, row),
        registration.status,
        registration.code,
        await _position(uow, registration),
        registration.checked_in_at,
    )


async def _unused_code(uow: UnitOfWork, session_id: int) -> str:
    while True:
        code = new_code()
        clash = await uow.session.scalar(
            select(SessionRegistration.id).where(
                SessionRegistration.session_id == session_id, SessionRegistration.code == code
            )
        )
        if clash is None:
            return code


async def register_for_session(
    uow: UnitOfWork,
    *,
    session_id: int,
    user_id: int,
    language: str,
    now: datetime,
    expected_version: int | None = None,
) -> Ticket:
    """A confirmed place if one is free (reserved seats respected), else the waiting list."""
    row = await lock_session(uow, session_id)
    if row is None or row.status not in (PUBLISHED, CANCELLED):
        raise SessionNotFound(session_id)
    if row.status == CANCELLED:
        raise SessionCancelled(session_id)
    if expected_version is not None and expected_version != row.version:
        raise SessionChanged(await view_of(uow, row))
    if row.starts_at <= now:
        raise SessionStarted(session_id)
    existing = await uow.session.scalar(
        select(SessionRegistration).where(
            SessionRegistration.session_id == session_id, SessionRegistration.user_id == user_id
        )
    )
    if existing is not None and existing.status in ACTIVE:
        raise AlreadyRegistered(await ticket_of(uow, existing))
    member = await uow.session.get(Member, user_id)
    woman = member is not None and member.gender == "female"
    youth = member is not None and member.age_group in YOUTH_AGE_GROUPS
    confirmed = has_seat(row, await _taken(uow, session_id), woman, youth)
    registration = existing or SessionRegistration(
        session_id=session_id, user_id=user_id, code=await _unused_code(uow, session_id)
    )
    registration.status = CONFIRMED if confirmed else WAITING
    registration.language = language
    registration.counts_as_woman = woman
    registration.counts_as_youth = youth
    registration.registered_at = now
    registration.queued_at = now
    registration.confirmed_at = now if confirmed else None
    registration.cancelled_at = None
    if existing is None:
        uow.session.add(registration)
    await uow.session.flush()
    return await ticket_of(uow, registration)


async def promote_waiting(
    uow: UnitOfWork, catalogue: Catalogue, row: DialogueSession, now: datetime
) -> list[int]:
    """Fill free seats from the waiting list in order, telling each person promoted."""
    if row.status != PUBLISHED or row.starts_at <= now:
        return []
    taken = await _taken(uow, row.id)
    waiting = list(
        await uow.session.scalars(
            select(SessionRegistration)
            .where(SessionRegistration.session_id == row.id, SessionRegistration.status == WAITING)
            .order_by(SessionRegistration.queued_at, SessionRegistration.id)
        )
    )
    promoted: list[int] = []
    for registration in waiting:
        if taken[0] >= row.capacity:
            break
        woman, youth = registration.counts_as_woman, registration.counts_as_youth
        if not has_seat(row, taken, woman, youth):
            continue
        registration.status = CONFIRMED
        registration.confirmed_at = now
        taken = (taken[0] + 1, taken[1] + int(woman), taken[2] + int(youth))
        promoted.append(registration.id)
        if registration.user_id is None:
            continue
        member_language = await uow.session.scalar(
            select(Member.language).where(Member.user_id == registration.user_id)
        )
        language = member_language or registration.language
        view = await view_of(uow, row)
        text = catalogue.render(
            language,
            "sessions.notice.promoted",
            code=registration.code,
            **session_variables(view, language, catalogue),
        )
        await queue_text(
            uow,
            chat_id=registration.user_id,
            text=text,
            now=now,
            dedupe_key=f"sessions:promoted:{registration.id}:{now.isoformat()}",
            source=f"session:{row.id}",
        )
    await uow.session.flush()
    return promoted


async def cancel_registration(
    uow: UnitOfWork, catalogue: Catalogue, *, registration_id: int, user_id: int, now: datetime
) -> Ticket:
    """The member gives up their place (or queue spot); the next in line is promoted."""
    registration = await uow.session.get(SessionRegistration, registration_id)
    if registration is None or registration.user_id != user_id:
        raise RegistrationNotFound(registration_id)
    row = await lock_session(uow, registration.session_id)
    assert row is not None
    await uow.session.refresh(registration)
    if registration.status not in ACTIVE:
        raise RegistrationNotFound(registration_id)
    was_confirmed = registration.status == CONFIRMED
    registration.status = WITHDRAWN
    registration.cancelled_at = now
    await uow.session.flush()
    if was_confirmed:
        await promote_waiting(uow, catalogue, row, now)
    return await ticket_of(uow, registration)


async def my_tickets(uow: UnitOfWork, user_id: int, now: datetime) -> list[Ticket]:
    """The member's places and queue spots in sessions that have not ended, soonest first."""
    rows = list(
        await uow.session.scalars(
            select(SessionRegistration)
            .join(DialogueSession, DialogueSession.id == SessionRegistration.session_id)
            .where(
                SessionRegistration.user_id == user_id,
                SessionRegistration.status.in_(ACTIVE),
                DialogueSession.status == PUBLISHED,
                DialogueSession.ends_at > now,
            )
            .order_by(DialogueSession.starts_at, DialogueSession.id)
        )
    )
    return [await ticket_of(uow, registration) for registration in rows]


async def ticket_for(uow: UnitOfWork, *, registration_id: int, user_id: int) -> Ticket:
    registration = await uow.session.get(SessionRegistration, registration_id)
    if registration is None or registration.user_id != user_id:
        raise RegistrationNotFound(registration_id)
    return await ticket_of(uow, registration)


async def erase_member_sessions(uow: UnitOfWork, user_id: int, now: datetime) -> None:
    """/deletemydata: give up future places, then unlink every registration and feedback
    from the member. Attendance stays only as anonymous counts. Freed seats are offered to
    the waiting list by a promotion task (it renders the news in each member's language)."""
    registrations = list(
        await uow.session.scalars(
            select(SessionRegistration).where(SessionRegistration.user_id == user_id)
        )
    )
    for registration in registrations:
        if registration.status in ACTIVE:
            row = await lock_session(uow, registration.session_id)
            if registration.status == CONFIRMED and row is not None and row.starts_at > now:
                await schedule_task(
                    uow,
                    kind=PROMOTE_TASK,
                    payload={"session_id": row.id},
                    due_at=now,
                    now=now,
                    dedupe_key=f"sessions:promote:{row.id}:{registration.id}",
                )
            registration.status = WITHDRAWN
            registration.cancelled_at = now
        registration.user_id = None
    await uow.session.execute(
        update(SessionFeedback).where(SessionFeedback.user_id == user_id).values(user_id=None)
    )
    await uow.session.flush()


async def promote_from_task(
    uow: UnitOfWork, catalogue: Catalogue, session_id: int, now: datetime
) -> list[int]:
    row = await lock_session(uow, session_id)
    if row is None:
        return []
    return await promote_waiting(uow, catalogue, row, now)
