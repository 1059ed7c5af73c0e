"""Announcements from organisers to members (SPEC §3.5, §4.2).

A broadcast holds the text in each language, an optional photo or document (a Telegram
file id), the audience filters and where its delivery stands. The deliveries themselves are
outbox rows with `source = "broadcast:<id>"` and `dedupe_key = "broadcast:<id>:<member>"`,
so the figures are counted from the outbox and no member can be queued twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import AutoId, Base, UtcDateTime


class Broadcast(Base):
    """One announcement: draft → scheduled → sending → done, or discarded / cancelled."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True)
    created_by: Mapped[int] = mapped_column(BigInteger)
    organiser_language: Mapped[str] = mapped_column(String(8))
    text_ar: Mapped[str | None] = mapped_column(Text)
    text_en: Mapped[str | None] = mapped_column(Text)
    media_kind: Mapped[str | None] = mapped_column(String(16))  # photo, document
    media_file_id: Mapped[str | None] = mapped_column(String(256))
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    send_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    enqueue_cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    enqueued_all: Mapped[bool] = mapped_column(Boolean, default=False)
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_progress: Mapped[str | None] = mapped_column(String(200))
    delivered: Mapped[int] = mapped_column(Integer, default=0)
    blocked: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_broadcasts_status", "status", "id"),)
