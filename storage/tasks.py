"""Repository of due-time tasks (SPEC §2: time-based work is data). Never commits."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ScheduledTask
from storage.upsert import insert_for

PENDING = "pending"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
CANCELLED = "cancelled"


@dataclass(frozen=True)
class DueTask:
    id: int
    kind: str
    payload: dict[str, Any]
    due_at: datetime
    attempts: int


async def schedule(
    session: AsyncSession,
    *,
    kind: str,
    payload: dict[str, Any],
    due_at: datetime,
    now: datetime,
    dedupe_key: str | None = None,
) -> bool:
    statement = insert_for(session, ScheduledTask).values(
        kind=kind,
        payload=payload,
        due_at=due_at,
        status=PENDING,
        attempts=0,
        dedupe_key=dedupe_key,
        created_at=now,
    )
    if dedupe_key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=["dedupe_key"])
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 1))


async def cancel_by_dedupe_prefix(session: AsyncSession, prefix: str) -> int:
    result = await session.execute(
        update(ScheduledTask)
        .where(ScheduledTask.status == PENDING, ScheduledTask.dedupe_key.startswith(prefix))
        .values(status=CANCELLED)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def release_claims_of(session: AsyncSession, owner: str) -> int:
    """At start-up: tasks this instance was running when it stopped go back to pending."""
    result = await session.execute(
        update(ScheduledTask)
        .where(ScheduledTask.status == RUNNING, ScheduledTask.claimed_by == owner)
        .values(status=PENDING, claimed_by=None, claim_expires_at=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def release_expired_claims(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(
        update(ScheduledTask)
        .where(ScheduledTask.status == RUNNING, ScheduledTask.claim_expires_at < now)
        .values(status=PENDING, claimed_by=None, claim_expires_at=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def claim_due(
    session: AsyncSession, owner: str, now: datetime, limit: int, claim_for: timedelta
) -> list[DueTask]:
    rows = list(
        (
            await session.scalars(
                select(ScheduledTask)
                .where(ScheduledTask.status == PENDING, ScheduledTask.due_at <= now)
                .order_by(ScheduledTask.due_at, ScheduledTask.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
    )
    for row in rows:
        row.status = RUNNING
        row.claimed_by = owner
        row.claim_expires_at = now + claim_for
    await session.flush()
    return [DueTask(r.id, r.kind, dict(r.payload), r.due_at, r.attempts) for r in rows]


async def finish(
    session: AsyncSession,
    task_id: int,
    owner: str,
    status: str,
    now: datetime,
    error: str | None = None,
) -> bool:
    result = await session.execute(
        update(ScheduledTask)
        .where(ScheduledTask.id == task_id, ScheduledTask.claimed_by == owner)
        .values(status=status, finished_at=now, error=error, claimed_by=None)
    )
    return getattr(result, "rowcount", 0) == 1


async def retry_later(
    session: AsyncSession, task_id: int, owner: str, due_at: datetime, error: str
) -> None:
    await session.execute(
        update(ScheduledTask)
        .where(ScheduledTask.id == task_id, ScheduledTask.claimed_by == owner)
        .values(
            status=PENDING,
            due_at=due_at,
            attempts=ScheduledTask.attempts + 1,
            error=error,
            claimed_by=None,
            claim_expires_at=None,
        )
    )


FINISHED = (DONE, FAILED, CANCELLED)


async def purge_finished(session: AsyncSession, older_than: datetime) -> int:
    """Delete tasks finished (or cancelled, or due) before `older_than`: their payloads and
    de-duplication keys may name a report or a member, and nothing reads them again."""
    moment = func.coalesce(ScheduledTask.finished_at, ScheduledTask.due_at)
    result = await session.execute(
        delete(ScheduledTask)
        .where(ScheduledTask.status.in_(FINISHED), moment < older_than)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def forget_member(session: AsyncSession, user_id: int) -> int:
    """/deletemydata: delete finished tasks whose payload or key names the member (pending
    ones belong to the features' own erasure hooks). Payloads are sealed, so each finished
    row is opened here; finished rows are few (`purge_finished` keeps a week)."""
    rows = await session.execute(
        select(ScheduledTask.id, ScheduledTask.payload, ScheduledTask.dedupe_key).where(
            ScheduledTask.status.in_(FINISHED)
        )
    )
    named = [
        task_id
        for task_id, payload, dedupe_key in rows.tuples()
        if _names(json.dumps(payload), user_id) or _names(dedupe_key or "", user_id)
    ]
    if named:
        await session.execute(
            delete(ScheduledTask)
            .where(ScheduledTask.id.in_(named))
            .execution_options(synchronize_session=False)
        )
    return len(named)


def _names(text: str, user_id: int) -> bool:
    return re.search(rf"(?<![0-9]){user_id}(?![0-9])", text) is not None
