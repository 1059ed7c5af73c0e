"""Repository of runtime leases: work only one instance may do at a time. Never commits."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import RuntimeLease
from storage.upsert import take_or_renew_lease

OUTBOX_SENDER = "outbox-sender"


async def take_lease(
    session: AsyncSession, name: str, owner: str, now: datetime, duration: timedelta
) -> bool:
    """Take or renew the lease `name`; False while another instance holds it unexpired."""
    return await take_or_renew_lease(session, RuntimeLease, "name", name, owner, now, duration)


async def release_leases_of(session: AsyncSession, owner: str) -> None:
    await session.execute(delete(RuntimeLease).where(RuntimeLease.owner == owner))
