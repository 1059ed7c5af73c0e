"""Grievances (SPEC §3.4, §4.1, §7): content, reporter identity kept apart, and history.

- `grievances`: what was reported and where it stands. No reporter identity. Free text
  (`description`, `area`) is stored sealed by `bot.engines.field_encryption`.
- `grievance_reporters`: who filed a report, one row per grievance, the only link between a
  Telegram account and a report. Purged for closed reports after the retention period and on
  /deletemydata; the report itself stays, anonymised.
- `grievance_entries`: the case history: additions and appeals from the member, staff
  replies and notes, status changes. `text` is sealed; `actor_id` is staff only (never the
  member).

`version` is the optimistic-concurrency counter (SQLAlchemy `version_id_col`): an update
from a stale read fails with `StaleDataError` instead of overwriting a colleague's change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import AutoId, Base, UtcDateTime
from storage.sealing import SealedJSON


class Grievance(Base):
    __tablename__ = "grievances"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="new")
    # Higher is more pressing: 0 can wait, 1 soon, 2 urgent, 3 urgent and flagged.
    priority: Mapped[int] = mapped_column(Integer, default=0)
    assignee_id: Mapped[int | None] = mapped_column(BigInteger)
    category: Mapped[str] = mapped_column(String(48))
    safeguarding: Mapped[bool] = mapped_column(Boolean, default=False)
    governorate: Mapped[str] = mapped_column(String(32))
    area: Mapped[str | None] = mapped_column(Text)  # sealed
    description: Mapped[str] = mapped_column(Text)  # sealed
    media: Mapped[list[dict[str, str]]] = mapped_column(SealedJSON)  # [{"kind", "file_id"}]
    urgency: Mapped[str] = mapped_column(String(16))
    risk_flags: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ack_due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    appealed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    main_case_id: Mapped[int | None] = mapped_column(
        ForeignKey("grievances.id", ondelete="SET NULL")
    )
    # Outbox dedupe keys of the staff cards start with this; see grievance_cards.card_keys.
    card_dedupe_key: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Who made the latest changes, and from which version on they were the only one to change
    # the case: a card press drawn at that version or later is theirs to continue (issue 18).
    last_actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_since_version: Mapped[int | None] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        Index("ix_grievances_queue", "status", "priority", "created_at"),
        Index("ix_grievances_assignee", "assignee_id", "status"),
        Index("ix_grievances_area_stats", "governorate", "category", "created_at"),
    )


class GrievanceReporter(Base):
    __tablename__ = "grievance_reporters"

    grievance_id: Mapped[int] = mapped_column(
        ForeignKey("grievances.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    user_id: Mapped[int] = mapped_column(BigInteger)
    contactable: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_details: Mapped[str | None] = mapped_column(Text)  # sealed
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_grievance_reporters_user", "user_id", "created_at"),)


class GrievanceEntry(Base):
    __tablename__ = "grievance_entries"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True)
    grievance_id: Mapped[int] = mapped_column(ForeignKey("grievances.id", ondelete="CASCADE"))
    # addition, appeal (from the member); reply, note, status (from staff)
    kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str | None] = mapped_column(Text)  # sealed
    media: Mapped[list[dict[str, str]]] = mapped_column(SealedJSON)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_grievance_entries_case", "grievance_id", "created_at"),)
