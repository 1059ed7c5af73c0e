"""Repository of the durable outbox (SPEC §2). Never commits.

Rows move pending → sending (claimed by one instance for a while) → sent | failed |
unreachable. A claim that expires (the instance died) puts the row back to pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Member, OutboxMessage, SentMessageLink, StaffRole, UtcDateTime
from storage.upsert import insert_for

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
UNREACHABLE = "unreachable"
CANCELLED = "cancelled"

# The statements of the hot path (a member's input, its replies and their results) are
# built once, from the table: a statement object keeps its own cache key, so executing it
# again costs neither building nor keying it, and no ORM layer is involved.
_OUTBOX = cast(Table, OutboxMessage.__table__)


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


def _chat_kept_after_sending(chat_id: ColumnElement[int]) -> ColumnElement[int]:
    """The chat a finished message keeps: groups, members and staff keep theirs (for the
    de-duplication window, see `scrub_finished`); a chat with no member row — the member
    just erased their data, or never consented — is forgotten as soon as it is sent to."""
    known = or_(
        chat_id < 0,
        chat_id.in_(select(Member.user_id)),
        chat_id.in_(select(StaffRole.user_id)),
    )
    return case((known, chat_id), else_=0)


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
            chat_id=_chat_kept_after_sending(cast(Table, OutboxMessage.__table__).c.chat_id),
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


_FINISH_MANY = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("b_id"), _OUTBOX.c.claimed_by == bindparam("b_owner"))
    .values(
        status=bindparam("b_status"),
        sent_message_id=bindparam("b_sent_id"),
        error=bindparam("b_error"),
        finished_at=bindparam("b_now", type_=UtcDateTime()),
        claimed_by=None,
        claim_expires_at=None,
        # A finished message keeps no text: replies and notices can be sensitive.
        payload=bindparam("b_payload", type_=_OUTBOX.c.payload.type),
        chat_id=_chat_kept_after_sending(_OUTBOX.c.chat_id),
    )
)
_POSTPONE_MANY = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("b_id"), _OUTBOX.c.claimed_by == bindparam("b_owner"))
    .values(
        status=PENDING,
        next_attempt_at=bindparam("b_at", type_=UtcDateTime()),
        error=bindparam("b_error"),
        attempts=_OUTBOX.c.attempts + bindparam("b_increment"),
        claimed_by=None,
        claim_expires_at=None,
    )
)


async def record_outcomes(
    session: AsyncSession,
    owner: str,
    now: datetime,
    finished: list[FinishedMessage],
    postponed: list[PostponedMessage],
) -> None:
    """Write many delivery results in one transaction (one statement per kind)."""
    if finished:
        await session.execute(
            _FINISH_MANY,
            [
                {
                    "b_id": item.id,
                    "b_owner": owner,
                    "b_status": item.status,
                    "b_sent_id": item.sent_message_id,
                    "b_error": item.error,
                    "b_now": now,
                    "b_payload": {"finished": True},
                }
                for item in finished
            ],
        )
    if postponed:
        await session.execute(
            _POSTPONE_MANY,
            [
                {
                    "b_id": item.id,
                    "b_owner": owner,
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
    await session.execute(
        delete(SentMessageLink).where(
            SentMessageLink.lookup_key.startswith(f"{LINK_PREFIX}{chat_id}:")
        )
    )


# -- links from delivered messages to their subject ----------------------------------------
# An outbox payload with ``"link": "<subject>"`` (e.g. ``grievance:42``) is remembered once
# delivered, so that a reply to that message can be traced to its subject for as long as
# the subject wants (the outbox row itself is scrubbed after the de-duplication window).
LINK_FIELD = "link"
# ``"prompt_of": {"user": id, "version": n}``: this message shows that version of the
# member's flow question; its id is noted on the flow once it is sent (storage/flows.py).
PROMPT_FIELD = "prompt_of"
LINK_PREFIX = "sent:"


def _link_key(chat_id: int, message_id: int) -> str:
    return f"{LINK_PREFIX}{chat_id}:{message_id}"


async def remember_sent(
    session: AsyncSession, chat_id: int, message_id: int, subject: str, now: datetime
) -> None:
    statement = (
        insert_for(session, SentMessageLink)
        .values(lookup_key=_link_key(chat_id, message_id), subject=subject[:64], created_at=now)
        .on_conflict_do_nothing(index_elements=["lookup_key"])
    )
    await session.execute(statement)


async def subject_of_sent(session: AsyncSession, chat_id: int, message_id: int) -> str | None:
    """What the message `message_id` the bot sent to `chat_id` was about, if remembered."""
    subject: str | None = await session.scalar(
        select(SentMessageLink.subject).where(
            SentMessageLink.lookup_key == _link_key(chat_id, message_id)
        )
    )
    return subject


async def forget_subjects(session: AsyncSession, subjects: list[str]) -> int:
    if not subjects:
        return 0
    result = await session.execute(
        delete(SentMessageLink).where(SentMessageLink.subject.in_(subjects))
    )
    return int(getattr(result, "rowcount", 0) or 0)


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


@dataclass(frozen=True)
class ClaimedRow:
    """A message written already claimed by its writer (a handler's direct reply)."""

    chat_id: int
    method: str
    payload: dict[str, Any]


_INSERT_CLAIMED = _OUTBOX.insert().returning(_OUTBOX.c.id, sort_by_parameter_order=True)


async def enqueue_claimed(
    session: AsyncSession,
    rows: list[ClaimedRow],
    *,
    owner: str,
    now: datetime,
    claim_for: timedelta,
    priority: int,
) -> list[OutgoingMessage]:
    """Add messages claimed by `owner` (who sends them right after the commit); the ids come
    back in the order of `rows`. Should the owner die first, the claim is released at its
    restart (or when it expires) and the outbox sender sends them."""
    if not rows:
        return []
    values = [
        {
            "chat_id": row.chat_id,
            "method": row.method,
            "payload": row.payload,
            "priority": priority,
            "status": SENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "claimed_by": owner,
            "claim_expires_at": now + claim_for,
            "dedupe_key": None,
            "source": None,
            "created_at": now,
        }
        for row in rows
    ]
    result = await session.execute(_INSERT_CLAIMED, values)
    ids = [int(value) for value in result.scalars().all()]
    return [
        OutgoingMessage(message_id, row.chat_id, row.method, dict(row.payload), 0, None)
        for message_id, row in zip(ids, rows, strict=True)
    ]
