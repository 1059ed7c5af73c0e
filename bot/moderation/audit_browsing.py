"""Reading the audit log for /audit (admins): newest first, paged, filtered by record or user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from storage.database import UnitOfWork
from storage.models import AuditEntry

PAGE_SIZE = 15


@dataclass(frozen=True)
class AuditLine:
    entry_id: int
    at: datetime
    actor_id: int | None
    action: str
    record_type: str | None
    record_id: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class AuditPage:
    lines: tuple[AuditLine, ...]
    older_than: int | None  # pass as `before_id` for the next page; None: no older entries


async def browse_audit(
    uow: UnitOfWork,
    *,
    record_type: str | None = None,
    record_id: str | None = None,
    user_id: int | None = None,
    before_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> AuditPage:
    """Newest entries first; `user_id` matches actions by that user and on that user."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if record_type is not None and record_id is not None:
        query = query.where(
            AuditEntry.record_type == record_type, AuditEntry.record_id == record_id
        )
    if user_id is not None:
        query = query.where(
            or_(
                AuditEntry.actor_id == user_id,
                and_(AuditEntry.record_type == "user", AuditEntry.record_id == str(user_id)),
            )
        )
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    rows = list(await uow.session.scalars(query))
    lines = tuple(
        AuditLine(
            row.id,
            row.at,
            row.actor_id,
            row.action,
            row.record_type,
            row.record_id,
            dict(row.details),
        )
        for row in rows[:limit]
    )
    older = lines[-1].entry_id if len(rows) > limit and lines else None
    return AuditPage(lines, older)
