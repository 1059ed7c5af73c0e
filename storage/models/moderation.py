"""Moderation (SPEC §4.1, §5): spike alerts, and the indexes that keep triage fast.

- `spike_alerts`: one row per (governorate, category, day) an unusual rise was alerted, so the
  staff group hears about it once. Only counts are kept, never a case or a person.
- Indexes on `grievances` for the queue (an index of the open cases only, in queue order),
  the overdue count and the daily figures; and on `outbox_messages` to find which case a
  staff member's reply-to-card answers (by the card's chat and message id).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import AutoId, Base, UtcDateTime
from storage.models.grievances import Grievance
from storage.models.runtime import OutboxMessage

# The open statuses, as SQL: the queue's WHERE repeats this text exactly, so that SQLite and
# PostgreSQL both see that the partial index below applies.
OPEN_CASES_SQL = "status IN ('new', 'acknowledged', 'in_review', 'escalated')"


class SpikeAlert(Base):
    __tablename__ = "spike_alerts"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True)
    governorate: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(48))
    day: Mapped[date] = mapped_column(Date)
    count: Mapped[int] = mapped_column(Integer)
    baseline_mean: Mapped[float] = mapped_column(Float)
    baseline_sd: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("governorate", "category", "day", name="uq_spike_alerts_cell_day"),
    )


class CaseCardCopy(Base):
    """Where a copy of a case's card was sent (staff group, a private chat, a /case answer,
    a queue message opened on a case), so that every copy is edited when the case changes.

    `outbox_id` for a copy sent through the outbox (its message id is recorded there once
    sent); `message_id` for one sent as a direct answer. `style` is `compact` (ordinary new
    case in the group), `restricted` (safeguarding case for staff who may not open it) or
    `full`; `back` is the callback data of a "back to the queue" button, if any.
    """

    __tablename__ = "case_card_copies"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True)
    grievance_id: Mapped[int] = mapped_column(ForeignKey("grievances.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    outbox_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(8))
    style: Mapped[str] = mapped_column(String(16))
    back: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_case_card_copies_case", "grievance_id"),
        Index("ix_case_card_copies_message", "chat_id", "message_id"),
    )


class StaffName(Base):
    """How staff are shown to colleagues: a display name they set (/myname), else their
    Telegram first name as last seen. Never shown to members."""

    __tablename__ = "staff_names"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    display_name: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str | None] = mapped_column(String(64))
    on_duty: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


Index(
    "ix_grievances_open_queue",
    Grievance.priority,
    Grievance.created_at,
    Grievance.id,
    sqlite_where=text(OPEN_CASES_SQL),
    postgresql_where=text(OPEN_CASES_SQL),
)
Index("ix_grievances_ack_due", Grievance.status, Grievance.ack_due_at)
Index("ix_grievances_created", Grievance.created_at)
Index("ix_outbox_sent_message", OutboxMessage.chat_id, OutboxMessage.sent_message_id)
