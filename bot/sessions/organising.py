"""Organisers' work on sessions: create, publish, change time or place, cancel (SPEC §4.2).

Every change that members must know about bumps the session's `version` and tells every
registrant through the outbox, in the same transaction as the change. Every action is
audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from bot.engines.audit import record_action
from bot.engines.outbox import queue_text
from bot.sessions.lifecycle import (
    ACTIVE,
    CANCELLED,
    DRAFT,
    PUBLISHED,
    NotADraft,
    RegistrationCounts,
    SessionCancelled,
    SessionChanged,
    SessionNotFound,
    SessionView,
    cancel_session_tasks,
    lock_session,
    registrants,
    registration_counts,
    schedule_session_tasks,
    session_variables,
    view_from_row,
    view_of,
)
from bot.sessions.organiser_input import SessionDraft, check_start, check_times
from messages import Catalogue
from storage.database import UnitOfWork
from storage.models import DialogueSession


async def create_session(
    uow: UnitOfWork, draft: SessionDraft, *, actor_id: int | None, publish: bool, now: datetime
) -> SessionView:
    draft.check(now)
    row = DialogueSession(
        title_ar=draft.title_ar,
        title_en=draft.title_en,
        description_ar=draft.description_ar,
        description_en=draft.description_en,
        governorate=draft.governorate,
        venue=draft.venue,
        venue_en=draft.venue_en,
        starts_at=draft.starts_at,
        ends_at=draft.ends_at,
        capacity=draft.capacity,
        reserved_women=draft.reserved_women,
        reserved_youth=draft.reserved_youth,
        reminder_minutes=list(draft.reminder_minutes),
        status=PUBLISHED if publish else DRAFT,
        version=1,
        created_by=actor_id,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(row)
    await uow.session.flush()
    await record_action(
        uow,
        actor_id=actor_id,
        action="session.publish" if publish else "session.create_draft",
        record_type="session",
        record_id=str(row.id),
        details={"capacity": row.capacity, "governorate": row.governorate},
        now=now,
    )
    if publish:
        await schedule_session_tasks(uow, row, now)
    return view_from_row(row)


async def publish_session(
    uow: UnitOfWork,
    session_id: int,
    *,
    actor_id: int,
    now: datetime,
    expected_version: int | None = None,
) -> SessionView:
    row = await lock_session(uow, session_id)
    if row is None:
        raise SessionNotFound(session_id)
    if row.status != DRAFT:
        raise NotADraft(session_id)
    if expected_version is not None and row.version != expected_version:
        raise SessionChanged(await view_of(uow, row))
    check_start(row.starts_at, now)
    row.status = PUBLISHED
    row.version += 1
    row.updated_at = now
    await schedule_session_tasks(uow, row, now)
    await record_action(
        uow,
        actor_id=actor_id,
        action="session.publish",
        record_type="session",
        record_id=str(row.id),
        now=now,
    )
    return await view_of(uow, row)


async def _tell_registrants(
    uow: UnitOfWork, catalogue: Catalogue, view: SessionView, key: str, now: datetime
) -> int:
    told = 0
    for _rid, user_id, language, _status in await registrants(uow, view.id, ACTIVE):
        text = catalogue.render(language, key, **session_variables(view, language, catalogue))
        if await queue_text(
            uow,
            chat_id=user_id,
            text=text,
            now=now,
            dedupe_key=f"sessions:{view.id}:v{view.version}:{key}:{user_id}",
            source=f"session:{view.id}",
        ):
            told += 1
    return told


@dataclass(frozen=True)
class ChangeOutcome:
    view: SessionView
    told: int


async def change_time_or_place(
    uow: UnitOfWork,
    catalogue: Catalogue,
    session_id: int,
    *,
    expected_version: int,
    starts_at: datetime | None,
    ends_at: datetime | None,
    venue: str | None,
    actor_id: int,
    now: datetime,
) -> ChangeOutcome:
    """Move a session or change its venue; every registrant is told. Stale edits refused."""
    row = await lock_session(uow, session_id)
    if row is None:
        raise SessionNotFound(session_id)
    if row.status == CANCELLED:
        raise SessionCancelled(session_id)
    if row.version != expected_version:
        raise SessionChanged(await view_of(uow, row))
    new_start = starts_at or row.starts_at
    new_end = ends_at or row.ends_at
    if starts_at is not None:
        check_start(new_start, now)
    check_times(new_start, new_end)
    changed = [
        name
        for name, old, new in (
            ("starts_at", row.starts_at, new_start),
            ("ends_at", row.ends_at, new_end),
            ("venue", row.venue, venue or row.venue),
        )
        if old != new
    ]
    if not changed:
        return ChangeOutcome(await view_of(uow, row), 0)
    if venue and venue != row.venue:
        row.venue_en = None  # a new venue typed once is what everyone reads
    row.starts_at, row.ends_at, row.venue = new_start, new_end, venue or row.venue
    row.version += 1
    row.updated_at = now
    await uow.session.flush()
    view = await view_of(uow, row)
    told = 0
    if row.status == PUBLISHED:
        await schedule_session_tasks(uow, row, now)
        told = await _tell_registrants(uow, catalogue, view, "sessions.notice.changed", now)
    await record_action(
        uow,
        actor_id=actor_id,
        action="session.change",
        record_type="session",
        record_id=str(row.id),
        details={"fields": changed, "told": told},
        now=now,
    )
    return ChangeOutcome(view, told)


async def cancel_session(
    uow: UnitOfWork,
    catalogue: Catalogue,
    session_id: int,
    *,
    expected_version: int,
    actor_id: int,
    now: datetime,
) -> ChangeOutcome:
    row = await lock_session(uow, session_id)
    if row is None:
        raise SessionNotFound(session_id)
    if row.status == CANCELLED:
        raise SessionCancelled(session_id)
    if row.version != expected_version:
        raise SessionChanged(await view_of(uow, row))
    row.status = CANCELLED
    row.version += 1
    row.updated_at = now
    await uow.session.flush()
    await cancel_session_tasks(uow, row.id)
    view = await view_of(uow, row)
    told = await _tell_registrants(uow, catalogue, view, "sessions.notice.cancelled", now)
    await record_action(
        uow,
        actor_id=actor_id,
        action="session.cancel",
        record_type="session",
        record_id=str(row.id),
        details={"told": told},
        now=now,
    )
    return ChangeOutcome(view, told)


async def sessions_for_staff(uow: UnitOfWork, now: datetime, limit: int = 20) -> list[SessionView]:
    """Drafts and published sessions that have not ended yet, soonest first."""
    rows = list(
        await uow.session.scalars(
            select(DialogueSession)
            .where(DialogueSession.status != CANCELLED, DialogueSession.ends_at > now)
            .order_by(DialogueSession.starts_at, DialogueSession.id)
            .limit(limit)
        )
    )
    counts = await registration_counts(uow, [row.id for row in rows])
    return [view_from_row(row, counts.get(row.id, RegistrationCounts())) for row in rows]


async def import_sessions(
    uow: UnitOfWork,
    drafts: list[SessionDraft],
    *,
    actor_id: int | None,
    publish: bool,
    now: datetime,
) -> list[SessionView]:
    """Create many sessions in one transaction: all of them or none."""
    return [
        await create_session(uow, draft, actor_id=actor_id, publish=publish, now=now)
        for draft in drafts
    ]
