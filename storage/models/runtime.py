"""Tables of the runtime: durable inbox, chat leases, flow state, outbox, links from sent
messages to what they were about, and due-time tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import AutoId, Base, UtcDateTime
from storage.sealing import SealedJSON, SealedKey


class InboxUpdate(Base):
    """An update from Telegram, stored before Telegram is told it was received (SPEC §2).

    `payload` holds the raw update only until it has been handled; it is then cleared so the
    inbox keeps no message text longer than needed.
    """

    __tablename__ = "inbox_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_key: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any] | None] = mapped_column(SealedJSON(none_as_null=True))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    error: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_inbox_pending", "status", "chat_key", "update_id"),)


class ChatLease(Base):
    """Which instance is handling a chat right now, so one chat never runs twice at once."""

    __tablename__ = "chat_leases"

    chat_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    owner: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RuntimeLease(Base):
    """A job only one instance may do at a time (e.g. the outbox sender), and who does it."""

    __tablename__ = "runtime_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class FlowState(Base):
    """Where a member is in a multi-step conversation, and every answer given so far."""

    __tablename__ = "flow_states"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    flow: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(SealedJSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The Telegram message showing the current question (its buttons are taken away once
    # answered): a number, so noting it needs no re-sealing of the answers.
    prompt_message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OutboxMessage(Base):
    """A message that is not a direct reply; the rate-limited sender delivers it."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(SealedJSON)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claim_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    dedupe_key: Mapped[str | None] = mapped_column(SealedKey(200), unique=True)
    source: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sent_message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_outbox_due", "status", "priority", "next_attempt_at"),
        Index("ix_outbox_source", "source", "status"),
    )


class SentMessageLink(Base):
    """What a message the outbox delivered was about (e.g. ``grievance:42``), so that a
    member's Telegram reply to it can be traced back after the outbox row has been scrubbed.

    `lookup_key` is ``sent:{chat_id}:{message_id}`` stored as a sealed key: keyed hashes,
    never the chat id in plain text (with DATA_KEY set).
    """

    __tablename__ = "sent_message_links"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True)
    lookup_key: Mapped[str] = mapped_column(SealedKey(200), unique=True)
    subject: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_sent_links_subject", "subject"),)


class ScheduledTask(Base):
    """Time-based work as data: a reminder, a nudge, a digest, a scheduled broadcast."""

    __tablename__ = "scheduled_tasks"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(SealedJSON)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claim_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    dedupe_key: Mapped[str | None] = mapped_column(SealedKey(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_tasks_due", "status", "due_at"),)


class ChatMove(Base):
    """A group chat Telegram moved to a new id (upgraded to a supergroup): everything for
    the old id goes to the new one, across restarts, until the configuration names it."""

    __tablename__ = "chat_moves"

    old_chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    new_chat_id: Mapped[int] = mapped_column(BigInteger)
    moved_at: Mapped[datetime] = mapped_column(UtcDateTime)
