"""Repository of the durable outbox (SPEC §2). Never commits.

Rows move pending → sending (claimed by one instance for a while) → sent | failed |
unreachable. A claim that expires (the instance died) puts the row back to pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Member, OutboxMessage, StaffRole, UtcDateTime
from storage.upsert import insert_for

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
UNREACHABLE = "unreachable"
CANCELLED = "cancelled"


@dataclass(frozen=True)
class OutgoingMessage:
    id: int
    chat_id: int
    method: str
    payload: dict[str, Any]
    attempts: int
    source: str | None


async def enqueue(
    session: AsyncSession,
    *,
    chat_id: int,
    method: str,
    payload: dict[str, Any],
    now: datetime,
    priority: int = 0,
    dedupe_key: str | None = None,
    source: str | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Add a message; with a `dedupe_key` seen before nothing is added (returns False)."""
    statement = insert_for(session, OutboxMessage).values(
        chat_id=chat_id,
        method=method,
        payload=payload,
        priority=priority,
        status=PENDING,
        attempts=0,
        next_attempt_at=not_before or now,
        dedupe_key=dedupe_key,
        source=source,
        created_at=now,
    )
    if dedupe_key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=["dedupe_key"])
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 1))


async def enqueue_many(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Bulk enqueue (broadcasts); rows whose dedupe_key exists already are skipped."""
    if not rows:
        return 0
    # executemany with one cached statement: compiling a VALUES list of a thousand rows
    # took the event loop ~130 ms and held up replies during a broadcast.
    statement = insert_for(session, OutboxMessage).on_conflict_do_nothing(
        index_elements=["dedupe_key"]
    )
    result = await session.execute(statement, rows)
    return int(getattr(result, "rowcount", 0) or 0)


async def release_claims_of(session: AsyncSession, owner: str) -> int:
    """At start-up: messages this instance was sending when it stopped go back to pending."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == SENDING, OutboxMessage.claimed_by == owner)
        .values(status=PENDING, claimed_by=None, claim_expires_at=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def release_expired_claims(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == SENDING, OutboxMessage.claim_expires_at < now)
        .values(status=PENDING, claimed_by=None, claim_expires_at=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def claim_due(
    session: AsyncSession,
    owner: str,
    now: datetime,
    limit: int,
    claim_for: timedelta,
    skip_chats: frozenset[int] = frozenset(),
) -> list[OutgoingMessage]:
    """Claim due messages, most important and oldest first; SKIP LOCKED on PostgreSQL."""
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.priority.desc(), OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if skip_chats:
        query = query.where(OutboxMessage.chat_id.not_in(skip_chats))
    rows = list((await session.scalars(query)).all())
    for row in rows:
        row.status = SENDING
        row.claimed_by = owner
        row.claim_expires_at = now + claim_for
    await session.flush()
    return [
        OutgoingMessage(r.id, r.chat_id, r.method, dict(r.payload), r.attempts, r.source)
        for r in rows
    ]


async def finish(
    session: AsyncSession,
    message_id: int,
    owner: str,
    status: str,
    now: datetime,
    *,
    sent_message_id: int | None = None,
    error: str | None = None,
) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == owner)
        .values(
            status=status,
            finished_at=now,
            sent_message_id=sent_message_id,
            error=error,
            claimed_by=None,
            claim_expires_at=None,
            # A finished message keeps no text: replies and notices can be sensitive.
            payload={"finished": True},
        )
    )


async def retry_later(
    session: AsyncSession,
    message_id: int,
    owner: str,
    next_attempt_at: datetime,
    error: str,
    *,
    count_attempt: bool = True,
) -> None:
    values: dict[str, Any] = {
        "status": PENDING,
        "next_attempt_at": next_attempt_at,
        "error": error,
        "claimed_by": None,
        "claim_expires_at": None,
    }
    if count_attempt:
        values["attempts"] = OutboxMessage.attempts + 1
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == owner)
        .values(**values)
    )


async def mark_member_unreachable(session: AsyncSession, chat_id: int) -> None:
    await session.execute(update(Member).where(Member.user_id == chat_id).values(unreachable=True))


async def cancel_pending(session: AsyncSession, source: str) -> int:
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.source == source, OutboxMessage.status == PENDING)
        .values(status=CANCELLED)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def counts_by_status(session: AsyncSession, source: str) -> dict[str, int]:
    rows = await session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.source == source)
        .group_by(OutboxMessage.status)
    )
    return {status: int(count) for status, count in rows.tuples()}


async def next_due_at(session: AsyncSession) -> datetime | None:
    value: datetime | None = await session.scalar(
        select(func.min(OutboxMessage.next_attempt_at)).where(OutboxMessage.status == PENDING)
    )
    return value


@dataclass(frozen=True)
class FinishedMessage:
    id: int
    status: str
    sent_message_id: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class PostponedMessage:
    id: int
    next_attempt_at: datetime
    error: str
    count_attempt: bool


async def record_outcomes(
    session: AsyncSession,
    owner: str,
    now: datetime,
    finished: list[FinishedMessage],
    postponed: list[PostponedMessage],
) -> None:
    """Write many delivery results in one transaction (one statement per kind)."""
    table = cast(Table, OutboxMessage.__table__)
    if finished:
        await session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"), table.c.claimed_by == owner)
            .values(
                status=bindparam("b_status"),
                sent_message_id=bindparam("b_sent_id"),
                error=bindparam("b_error"),
                finished_at=now,
                claimed_by=None,
                claim_expires_at=None,
                # A finished message keeps no text: replies and notices can be sensitive.
                payload={"finished": True},
            ),
            [
                {
                    "b_id": item.id,
                    "b_status": item.status,
                    "b_sent_id": item.sent_message_id,
                    "b_error": item.error,
                }
                for item in finished
            ],
        )
    if postponed:
        await session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"), table.c.claimed_by == owner)
            .values(
                status=PENDING,
                next_attempt_at=bindparam("b_at", type_=UtcDateTime()),
                error=bindparam("b_error"),
                attempts=table.c.attempts + bindparam("b_increment"),
                claimed_by=None,
                claim_expires_at=None,
            ),
            [
                {
                    "b_id": item.id,
                    "b_at": item.next_attempt_at,
                    "b_error": item.error,
                    "b_increment": 1 if item.count_attempt else 0,
                }
                for item in postponed
            ],
        )


async def forget_chat(session: AsyncSession, chat_id: int, now: datetime) -> None:
    """/deletemydata: messages still waiting for the member are dropped (those queued by
    this very change, at `now`, stay), and sent ones no longer name the chat."""
    await session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.status == PENDING,
            OutboxMessage.created_at < now,
        )
    )
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.chat_id == chat_id, OutboxMessage.status.not_in((PENDING, SENDING)))
        # No chat, no text and no de-duplication key (`grievance-notify:<entry>` would point
        # at the member's report).
        .values(chat_id=0, sent_message_id=None, dedupe_key=None, payload={"finished": True})
        .execution_options(synchronize_session=False)
    )


async def scrub_finished(session: AsyncSession, older_than: datetime) -> int:
    """Finished messages to members older than the de-duplication window keep no text, no
    chat, no de-duplication key and only coarse times: those of the window's edge, to the
    hour (staff chats keep theirs: replies to cards are looked up by chat and message)."""
    staff = select(StaffRole.user_id)
    edge = older_than.replace(minute=0, second=0, microsecond=0)
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status.not_in((PENDING, SENDING)),
            OutboxMessage.finished_at < older_than,
            OutboxMessage.chat_id > 0,
            OutboxMessage.chat_id.not_in(staff),
        )
        .values(
            chat_id=0,
            sent_message_id=None,
            payload={"finished": True},
            dedupe_key=None,
            created_at=edge,
            next_attempt_at=edge,
            finished_at=edge,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
