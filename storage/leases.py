"""Repository of runtime leases: work only one instance may do at a time. Never commits."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import RuntimeLease
from storage.upsert import insert_for

OUTBOX_SENDER = "outbox-sender"


async def take_lease(
    session: AsyncSession, name: str, owner: str, now: datetime, duration: timedelta
) -> bool:
    """Take or renew the lease `name`; False while another instance holds it unexpired."""
    statement = insert_for(session, RuntimeLease).values(
        name=name, owner=owner, expires_at=now + duration
    )
    statement = statement.on_conflict_do_update(
        index_elements=["name"],
        set_={"owner": owner, "expires_at": now + duration},
        where=or_(RuntimeLease.expires_at < now, RuntimeLease.owner == owner),
    )
    # A row comes back only when the lease was inserted or the update's condition held.
    holder: str | None = await session.scalar(statement.returning(RuntimeLease.owner))
    return holder == owner


async def release_leases_of(session: AsyncSession, owner: str) -> None:
    await session.execute(delete(RuntimeLease).where(RuntimeLease.owner == owner))
