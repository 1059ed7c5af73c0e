"""Dialogue sessions, registrations (with the waiting list and attendance) and feedback.

Registrations hold no names: a member is their Telegram id (erased on /deletemydata) and a
short check-in code that is unique within its session.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import AutoId, Base, UtcDateTime


class DialogueSession(Base):
    """A workshop or dialogue session that members register for (SPEC §3.2).

    `version` grows with every change members should know about (time, place, status), so
    buttons shown for an earlier version are recognised as stale.
    """

    __tablename__ = "dialogue_sessions"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True)
    title_ar: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    description_ar: Mapped[str] = mapped_column(Text)
    description_en: Mapped[str] = mapped_column(Text)
    governorate: Mapped[str] = mapped_column(String(32))
    venue: Mapped[str] = mapped_column(String(300))
    # The venue as English readers should read it; None: everyone reads `venue`.
    venue_en: Mapped[str | None] = mapped_column(String(300))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    capacity: Mapped[int] = mapped_column(Integer)
    reserved_women: Mapped[int] = mapped_column(Integer, default=0)
    reserved_youth: Mapped[int] = mapped_column(Integer, default=0)
    reminder_minutes: Mapped[list[int]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # draft, published, cancelled
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_dialogue_sessions_upcoming", "status", "starts_at"),)


class SessionRegistration(Base):
    """One member's place in a session: confirmed, waiting or cancelled; and attendance."""

    __tablename__ = "session_registrations"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("dialogue_sessions.id", ondelete="CASCADE"),
    )
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # confirmed, waiting, cancelled
    code: Mapped[str] = mapped_column(String(12))
    language: Mapped[str] = mapped_column(String(8))
    # Snapshot of the profile at registration, for the reserved seats only.
    counts_as_woman: Mapped[bool] = mapped_column(Boolean, default=False)
    counts_as_youth: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    queued_at: Mapped[datetime] = mapped_column(UtcDateTime)  # order of the waiting list
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("session_id", "user_id", name="uq_session_registrations_member"),
        UniqueConstraint("session_id", "code", name="uq_session_registrations_code"),
        Index("ix_session_registrations_status", "session_id", "status", "queued_at"),
        Index("ix_session_registrations_user", "user_id"),
    )


class SessionFeedback(Base):
    """The short feedback of one attendee after a session; kept when the member is erased."""

    __tablename__ = "session_feedback"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("dialogue_sessions.id", ondelete="CASCADE"),
    )
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    rating: Mapped[int] = mapped_column(Integer)
    most_useful: Mapped[str | None] = mapped_column(Text)
    join_again: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("session_id", "user_id", name="uq_session_feedback_member"),
    )
