"""The append-only audit log of staff actions (SPEC §4): who, when, what, on which record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from storage.database import UnitOfWork
from storage.models import AuditEntry


@dataclass(frozen=True)
class AuditRecord:
    at: datetime
    actor_id: int | None
    action: str
    record_type: str | None
    record_id: str | None
    details: dict[str, Any]


async def record_action(
    uow: UnitOfWork,
    *,
    actor_id: int | None,
    action: str,
    record_type: str | None,
    record_id: str | None,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one entry. Never put message text or names in `details`."""
    uow.session.add(
        AuditEntry(
            at=now,
            actor_id=actor_id,
            action=action,
            record_type=record_type,
            record_id=record_id,
            details=details or {},
        )
    )


def _to_record(row: AuditEntry) -> AuditRecord:
    return AuditRecord(
        row.at, row.actor_id, row.action, row.record_type, row.record_id, dict(row.details)
    )


async def entries_for(
    uow: UnitOfWork, record_type: str, record_id: str, limit: int = 100
) -> list[AuditRecord]:
    rows = await uow.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.record_type == record_type, AuditEntry.record_id == record_id)
        .order_by(AuditEntry.at, AuditEntry.id)
        .limit(limit)
    )
    return [_to_record(row) for row in rows]


async def recent_entries(uow: UnitOfWork, limit: int = 20) -> list[AuditRecord]:
    rows = await uow.session.scalars(
        select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    )
    return [_to_record(row) for row in rows]
