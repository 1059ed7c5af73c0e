"""Repository of the durable inbox and of chat leases (SPEC §2). Never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChatLease, InboxUpdate, Member, UtcDateTime
from storage.upsert import take_or_renew_lease

PENDING = "pending"
DONE = "done"
FAILED = "failed"


# Profile data no handler reads: dropped from every user and chat of an update before it is
# stored (a member's name, username or phone number would otherwise sit beside their words).
_PROFILE_FIELDS = frozenset(
    {
        "last_name",
        "username",
        "usernames",
        "active_usernames",
        "phone_number",
        "vcard",
        "bio",
        "photo_url",
        "is_premium",
        "added_to_attachment_menu",
        "emoji_status_custom_emoji_id",
        "forward_sender_name",
        "author_signature",
        "sender_business_bot",
    }
)


def minimised(value: Any, parent: str = "", staff_ids: frozenset[int] = frozenset()) -> Any:
    """The update with names, usernames, phone numbers and profile data removed.

    python-telegram-bot needs a user's `first_name`, so users keep an empty one; a shared
    contact keeps empty required fields only; a chat's photo (profile picture) is dropped.
    The sender's first name is kept only when the sender is one of `staff_ids`: colleagues
    are shown to each other by their Telegram first name (issue 18); members never are.
    """
    if isinstance(value, list):
        return [minimised(item, parent, staff_ids) for item in value]
    if not isinstance(value, dict):
        return value
    if parent == "contact":
        return {"phone_number": "", "first_name": ""}
    result: dict[str, Any] = {}
    is_user = "is_bot" in value
    is_chat = "type" in value and "id" in value
    for key, item in value.items():
        if key in _PROFILE_FIELDS:
            continue
        if key == "first_name":
            if is_user:
                is_staff = parent == "from" and value.get("id") in staff_ids
                result[key] = item if is_staff else ""
            continue
        if key == "photo" and is_chat:
            continue
        result[key] = minimised(item, key, staff_ids)
    return result


def coarse(moment: datetime) -> datetime:
    """The hour of `moment`: kept where an exact time could link a member to a report."""
    return moment.replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class IncomingUpdate:
    update_id: int
    chat_key: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class StoredUpdate:
    update_id: int
    chat_key: int
    payload: dict[str, Any]
    attempts: int
    # The stored language of the member whose private chat this is (`chat_key`), read with
    # the update so handling it needs no query of its own; None when there is none.
    chat_member_language: str | None = None


# The statements run for every update are built once, from the tables (see storage/outbox.py).
_INBOX = cast(Table, InboxUpdate.__table__)
_MEMBERS = cast(Table, Member.__table__)
_STORE = {
    "sqlite": sqlite.insert(_INBOX).on_conflict_do_nothing(index_elements=["update_id"]),
    "postgresql": postgresql.insert(_INBOX).on_conflict_do_nothing(index_elements=["update_id"]),
}
_PENDING_FOR_CHAT = (
    select(
        _INBOX.c.update_id,
        _INBOX.c.payload,
        _INBOX.c.attempts,
        _INBOX.c.next_attempt_at,
        _MEMBERS.c.language,
    )
    .select_from(_INBOX.outerjoin(_MEMBERS, _MEMBERS.c.user_id == _INBOX.c.chat_key))
    .where(_INBOX.c.chat_key == bindparam("b_chat"), _INBOX.c.status == PENDING)
    .order_by(_INBOX.c.update_id)
    .limit(bindparam("b_limit"))
)
_MARK = (
    update(_INBOX)
    .where(_INBOX.c.update_id == bindparam("b_id"), _INBOX.c.status == PENDING)
    # Only the update id is kept, for de-duplication: no payload, no chat, and times
    # coarsened to the hour so they cannot be matched with the time of a report.
    .values(
        status=bindparam("b_status"),
        payload=None,
        chat_key=0,
        received_at=bindparam("b_hour", type_=UtcDateTime()),
        next_attempt_at=bindparam("b_hour", type_=UtcDateTime()),
        processed_at=bindparam("b_hour", type_=UtcDateTime()),
        error=bindparam("b_error"),
    )
)


class UpdateAlreadyHandled(Exception):
    """The update was handled before (redelivery, or another instance got there first)."""


async def store_incoming(
    session: AsyncSession,
    updates: list[IncomingUpdate],
    now: datetime,
    staff_ids: frozenset[int] = frozenset(),
) -> None:
    """Insert updates not seen before (one seen before is left as it is). Only a sender among
    `staff_ids` keeps a first name (colleagues are named by it)."""
    if not updates:
        return
    values = [
        {
            "update_id": item.update_id,
            "chat_key": item.chat_key,
            "payload": minimised(item.payload, staff_ids=staff_ids),
            "status": PENDING,
            "attempts": 0,
            "received_at": now,
            "next_attempt_at": now,
        }
        for item in updates
    ]
    # One cached statement for all the rows, in one call to the driver.
    await session.execute(_STORE[session.bind.dialect.name], values)


async def chats_with_pending_updates(
    session: AsyncSession, now: datetime, limit: int
) -> list[int]:
    """Chats with due pending updates, the one waiting longest first."""
    oldest = func.min(InboxUpdate.update_id)
    rows = await session.execute(
        select(InboxUpdate.chat_key)
        .where(InboxUpdate.status == PENDING, InboxUpdate.next_attempt_at <= now)
        .group_by(InboxUpdate.chat_key)
        .order_by(oldest)
        .limit(limit)
    )
    return [row[0] for row in rows]


async def pending_for_chat(
    session: AsyncSession, chat_key: int, now: datetime, limit: int
) -> list[StoredUpdate]:
    """The chat's next due updates in order, each with the language of the chat's member as
    it is now (read in the same query; a later update in the batch may follow a change)."""
    rows = await session.execute(_PENDING_FOR_CHAT, {"b_chat": chat_key, "b_limit": limit})
    result = []
    for update_id, payload, attempts, next_attempt_at, language in rows:
        if next_attempt_at > now:
            break  # strict order: a later update never overtakes one waiting to retry
        result.append(StoredUpdate(update_id, chat_key, payload or {}, attempts, language))
    return result


async def mark_done(
    session: AsyncSession,
    update_id: int,
    now: datetime,
    *,
    status: str = DONE,
    error: str | None = None,
) -> None:
    """Mark an update handled and drop its payload; raises if it was handled already."""
    result = await session.execute(
        _MARK, {"b_id": update_id, "b_status": status, "b_hour": coarse(now), "b_error": error}
    )
    if getattr(result, "rowcount", 0) != 1:
        raise UpdateAlreadyHandled(update_id)


async def postpone(
    session: AsyncSession, update_id: int, next_attempt_at: datetime, error: str
) -> None:
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id, InboxUpdate.status == PENDING)
        .values(attempts=InboxUpdate.attempts + 1, next_attempt_at=next_attempt_at, error=error)
    )


async def status_of(session: AsyncSession, update_id: int) -> str | None:
    row = await session.get(InboxUpdate, update_id)
    return None if row is None else row.status


async def purge_handled(session: AsyncSession, older_than: datetime) -> int:
    result = await session.execute(
        delete(InboxUpdate).where(
            InboxUpdate.status == DONE, InboxUpdate.processed_at < older_than
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def forget_chat(session: AsyncSession, chat_key: int, now: datetime) -> None:
    """/deletemydata: handled updates of the chat no longer name it (pending ones are
    unlinked when they are handled)."""
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.chat_key == chat_key, InboxUpdate.status != PENDING)
        .values(chat_key=0)
        .execution_options(synchronize_session=False)
    )
    # A lease another instance holds stays until it is released (or expires and is purged).
    await session.execute(
        delete(ChatLease).where(ChatLease.chat_key == chat_key, ChatLease.expires_at < now)
    )


async def purge_expired_leases(session: AsyncSession, now: datetime) -> int:
    """Chat leases left behind by an instance that died (they name the chat)."""
    result = await session.execute(delete(ChatLease).where(ChatLease.expires_at < now))
    return int(getattr(result, "rowcount", 0) or 0)


_TAKE_LEASE = (
    postgresql.insert(cast(Table, ChatLease.__table__))
    .values(
        chat_key=bindparam("b_chat"),
        owner=bindparam("b_owner"),
        expires_at=bindparam("b_until", type_=UtcDateTime()),
    )
    .on_conflict_do_update(
        index_elements=["chat_key"],
        set_={"owner": bindparam("b_owner"), "expires_at": bindparam("b_until")},
        where=or_(
            ChatLease.__table__.c.expires_at < bindparam("b_now", type_=UtcDateTime()),
            ChatLease.__table__.c.owner == bindparam("b_owner"),
        ),
    )
    .returning(ChatLease.__table__.c.owner)
)


async def take_chat_lease(
    session: AsyncSession, chat_key: int, owner: str, now: datetime, duration: timedelta
) -> bool:
    """Take or renew the lease on a chat; False when another live instance holds it."""
    if session.bind.dialect.name != "postgresql":
        return await take_or_renew_lease(
            session, ChatLease, "chat_key", chat_key, owner, now, duration
        )
    # On every update handled on PostgreSQL: one prebuilt statement.
    holder = await session.scalar(
        _TAKE_LEASE,
        {"b_chat": chat_key, "b_owner": owner, "b_until": now + duration, "b_now": now},
    )
    return bool(holder == owner)


async def release_leases_of(session: AsyncSession, owner: str) -> None:
    await session.execute(delete(ChatLease).where(ChatLease.owner == owner))


_LEASES = cast(Table, ChatLease.__table__)
_RELEASE_LEASE = delete(_LEASES).where(
    _LEASES.c.chat_key == bindparam("b_chat"),
    _LEASES.c.owner == bindparam("b_owner"),
    _LEASES.c.expires_at == bindparam("b_until", type_=UtcDateTime()),
)


async def release_chat_leases(
    session: AsyncSession, owner: str, leases: dict[int, datetime]
) -> None:
    """Release `owner`'s leases on these chats, each only while it still has the expiry
    given (a lease renewed since is kept: its chat started again)."""
    if leases:
        await session.execute(
            _RELEASE_LEASE,
            [
                {"b_chat": chat, "b_owner": owner, "b_until": until}
                for chat, until in leases.items()
            ],
        )


async def mark_failed(session: AsyncSession, update_id: int, now: datetime, error: str) -> None:
    """A fault in our code or a permanent refusal ended the update: its input is kept, sealed
    like every stored payload, so an admin can replay it (purged after the set days)."""
    result = await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id, InboxUpdate.status == PENDING)
        .values(status=FAILED, processed_at=now, error=error[:200])
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise UpdateAlreadyHandled(update_id)


@dataclass(frozen=True)
class FailedUpdate:
    update_id: int
    failed_at: datetime | None
    error: str | None
    kind: str


async def failed_updates(session: AsyncSession) -> list[FailedUpdate]:
    rows = await session.execute(
        select(
            InboxUpdate.update_id, InboxUpdate.processed_at, InboxUpdate.error, InboxUpdate.payload
        )
        .where(InboxUpdate.status == FAILED, InboxUpdate.payload.is_not(None))
        .order_by(InboxUpdate.update_id)
    )
    result = []
    for update_id, failed_at, error, payload in rows:
        kinds = [key for key in (payload or {}) if key != "update_id"]
        result.append(FailedUpdate(update_id, failed_at, error, ",".join(kinds) or "other"))
    return result


async def replay_failed(session: AsyncSession, update_id: int, now: datetime) -> bool:
    """Put a failed update back in its chat's queue; False when there is no such update."""
    result = await session.execute(
        update(InboxUpdate)
        .where(
            InboxUpdate.update_id == update_id,
            InboxUpdate.status == FAILED,
            InboxUpdate.payload.is_not(None),
        )
        .values(status=PENDING, attempts=0, next_attempt_at=now, processed_at=None, error=None)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


async def purge_failed(session: AsyncSession, older_than: datetime) -> int:
    """Failed updates kept longer than the set period are deleted, input and all."""
    result = await session.execute(
        delete(InboxUpdate).where(
            InboxUpdate.status == FAILED, InboxUpdate.processed_at < older_than
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
