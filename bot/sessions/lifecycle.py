"""Dialogue sessions as organisers run them: create, publish, change time or place, cancel;
and the list of upcoming sessions that members see (SPEC §3.2, §4.2).

Every change that members must know about bumps the session's `version` and tells every
registrant through the outbox, in the same transaction as the change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select

from bot.engines.tasks import cancel_tasks, schedule_task
from bot.members.demographics import governorate_key
from messages import Catalogue
from storage.database import UnitOfWork
from storage.models import DialogueSession, Member, SessionRegistration

DRAFT = "draft"
PUBLISHED = "published"
CANCELLED = "cancelled"
CONFIRMED = "confirmed"
WAITING = "waiting"
WITHDRAWN = "cancelled"
ACTIVE = (CONFIRMED, WAITING)
PAGE_SIZE = 5
REMINDER_TASK = "sessions.reminder"
FEEDBACK_TASK = "sessions.feedback_invite"


class SessionNotFound(LookupError):
    pass


class SessionCancelled(Exception):
    pass


class SessionChanged(Exception):
    """The member or organiser acted on an earlier version of the session."""

    def __init__(self, view: SessionView) -> None:
        super().__init__(view.id)
        self.view = view


class NotADraft(Exception):
    pass


@dataclass(frozen=True)
class SessionView:
    id: int
    version: int
    status: str
    title_ar: str
    title_en: str
    description_ar: str
    description_en: str
    governorate: str
    venue: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    reserved_women: int
    reserved_youth: int
    reminder_minutes: tuple[int, ...]
    confirmed: int
    waiting: int
    confirmed_women: int = 0
    confirmed_youth: int = 0
    venue_en: str | None = None

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.confirmed, 0)

    @property
    def held_seats(self) -> int:
        """Of the seats left, how many are still held for women or young people."""
        unmet = max(self.reserved_women - self.confirmed_women, 0) + max(
            self.reserved_youth - self.confirmed_youth, 0
        )
        return min(unmet, self.seats_left)

    def title(self, language: str) -> str:
        return self.title_ar if language == "ar" else self.title_en

    def description(self, language: str) -> str:
        return self.description_ar if language == "ar" else self.description_en

    def venue_in(self, language: str) -> str:
        """The venue as readers of `language` read it (the one venue if only one was given)."""
        return self.venue_en if language == "en" and self.venue_en else self.venue


def session_variables(view: SessionView, language: str, catalogue: Catalogue) -> dict[str, Any]:
    """The variables every session message takes, in `language`."""
    return {
        "session_id": view.id,
        "title": view.title(language),
        "description": view.description(language),
        "starts_at": view.starts_at,
        "ends_at": view.ends_at,
        "venue": view.venue_in(language),
        "governorate": catalogue.plain(language, governorate_key(view.governorate)),
        "seats_left": view.seats_left,
        "held_seats": view.held_seats,
        "capacity": view.capacity,
        "confirmed": view.confirmed,
        "waiting": view.waiting,
    }


@dataclass(frozen=True)
class RegistrationCounts:
    confirmed: int = 0
    waiting: int = 0
    confirmed_women: int = 0
    confirmed_youth: int = 0


async def registration_counts(
    uow: UnitOfWork, session_ids: list[int]
) -> dict[int, RegistrationCounts]:
    if not session_ids:
        return {}
    confirmed = SessionRegistration.status == CONFIRMED
    rows = await uow.session.execute(
        select(
            SessionRegistration.session_id,
            func.sum(case((confirmed, 1), else_=0)),
            func.sum(case((SessionRegistration.status == WAITING, 1), else_=0)),
            func.sum(case((confirmed & SessionRegistration.counts_as_woman, 1), else_=0)),
            func.sum(case((confirmed & SessionRegistration.counts_as_youth, 1), else_=0)),
        )
        .where(SessionRegistration.session_id.in_(session_ids))
        .group_by(SessionRegistration.session_id)
    )
    return {
        sid: RegistrationCounts(*(int(value or 0) for value in values))
        for sid, *values in rows.tuples()
    }


def view_from_row(
    row: DialogueSession, counts: RegistrationCounts = RegistrationCounts()
) -> SessionView:
    return SessionView(
        id=row.id,
        version=row.version,
        status=row.status,
        title_ar=row.title_ar,
        title_en=row.title_en,
        description_ar=row.description_ar,
        description_en=row.description_en,
        governorate=row.governorate,
        venue=row.venue,
        venue_en=row.venue_en,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        capacity=row.capacity,
        reserved_women=row.reserved_women,
        reserved_youth=row.reserved_youth,
        reminder_minutes=tuple(row.reminder_minutes),
        confirmed=counts.confirmed,
        waiting=counts.waiting,
        confirmed_women=counts.confirmed_women,
        confirmed_youth=counts.confirmed_youth,
    )


async def view_of(uow: UnitOfWork, row: DialogueSession) -> SessionView:
    counts = (await registration_counts(uow, [row.id])).get(row.id, RegistrationCounts())
    return view_from_row(row, counts)


async def get_session(uow: UnitOfWork, session_id: int) -> SessionView:
    row = await uow.session.get(DialogueSession, session_id)
    if row is None:
        raise SessionNotFound(session_id)
    return await view_of(uow, row)


async def lock_session(uow: UnitOfWork, session_id: int) -> DialogueSession | None:
    """The session row, locked until commit (PostgreSQL `FOR UPDATE`; SQLite's
    `BEGIN IMMEDIATE` already serialises writers), so seats are counted by one at a time."""
    row: DialogueSession | None = await uow.session.scalar(
        select(DialogueSession)
        .where(DialogueSession.id == session_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return row


def task_prefix(session_id: int) -> str:
    return f"sessions:{session_id}:"


async def cancel_session_tasks(uow: UnitOfWork, session_id: int) -> int:
    return await cancel_tasks(uow, task_prefix(session_id))


async def schedule_session_tasks(uow: UnitOfWork, row: DialogueSession, now: datetime) -> None:
    """Reminders before the start and the feedback invitation at the end, for this version.

    Tasks of earlier versions are cancelled; a reminder whose time has passed is skipped.
    """
    await cancel_session_tasks(uow, row.id)
    prefix = f"{task_prefix(row.id)}v{row.version}"
    for minutes in row.reminder_minutes:
        due_at = row.starts_at - timedelta(minutes=minutes)
        if due_at > now:
            await schedule_task(
                uow,
                kind=REMINDER_TASK,
                payload={"session_id": row.id, "version": row.version, "minutes": minutes},
                due_at=due_at,
                now=now,
                dedupe_key=f"{prefix}:reminder:{minutes}",
            )
    await schedule_task(
        uow,
        kind=FEEDBACK_TASK,
        payload={"session_id": row.id, "version": row.version},
        due_at=row.ends_at,
        now=now,
        dedupe_key=f"{prefix}:feedback",
    )


async def registrants(
    uow: UnitOfWork, session_id: int, statuses: tuple[str, ...]
) -> list[tuple[int, int, str, str]]:
    """(registration id, user id, language, status) of the named statuses, in queue order."""
    rows = await uow.session.execute(
        select(
            SessionRegistration.id,
            SessionRegistration.user_id,
            func.coalesce(Member.language, SessionRegistration.language),
            SessionRegistration.status,
        )
        .outerjoin(Member, Member.user_id == SessionRegistration.user_id)
        .where(
            SessionRegistration.session_id == session_id,
            SessionRegistration.status.in_(statuses),
            SessionRegistration.user_id.is_not(None),
        )
        .order_by(SessionRegistration.queued_at, SessionRegistration.id)
    )
    return [
        (rid, uid, lang, status) for rid, uid, lang, status in rows.tuples() if uid is not None
    ]


@dataclass(frozen=True)
class SessionPage:
    sessions: tuple[SessionView, ...]
    page: int
    pages: int
    registered: frozenset[int]  # ids of sessions the member holds a place (or queue spot) in


async def upcoming_for_member(
    uow: UnitOfWork, user_id: int, now: datetime, page: int = 0, page_size: int = PAGE_SIZE
) -> SessionPage:
    """Published sessions that have not started, the member's governorate first."""
    governorate = await uow.session.scalar(
        select(Member.governorate).where(Member.user_id == user_id)
    )
    upcoming = (DialogueSession.status == PUBLISHED, DialogueSession.starts_at > now)
    count = select(func.count()).select_from(DialogueSession).where(*upcoming)
    total = int(await uow.session.scalar(count) or 0)
    pages = max((total + page_size - 1) // page_size, 1)
    page = min(max(page, 0), pages - 1)
    home_first = case((DialogueSession.governorate == (governorate or ""), 0), else_=1)
    rows = list(
        await uow.session.scalars(
            select(DialogueSession)
            .where(*upcoming)
            .order_by(home_first, DialogueSession.starts_at, DialogueSession.id)
            .offset(page * page_size)
            .limit(page_size)
        )
    )
    ids = [row.id for row in rows]
    counts = await registration_counts(uow, ids)
    mine = await uow.session.scalars(
        select(SessionRegistration.session_id).where(
            SessionRegistration.user_id == user_id,
            SessionRegistration.session_id.in_(ids),
            SessionRegistration.status.in_(ACTIVE),
        )
    )
    return SessionPage(
        tuple(view_from_row(row, counts.get(row.id, RegistrationCounts())) for row in rows),
        page,
        pages,
        frozenset(mine),
    )
