"""How staff are named to colleagues (issue 18): a display name they set with /myname, else
their Telegram first name as last seen, never a raw Telegram id.

Names are learned when staff act (the handler passes the first name Telegram sent) and are
shown only to staff (cards, the queue, conflicts), never to members.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from storage.database import UnitOfWork
from storage.models import StaffName

MAX_NAME = 64


def _clean(name: str | None) -> str | None:
    cleaned = " ".join((name or "").split())[:MAX_NAME]
    return cleaned or None


async def remember_first_name(
    uow: UnitOfWork, user_id: int, first_name: str | None, now: datetime
) -> None:
    """Keep the Telegram first name (written only when it changed)."""
    cleaned = _clean(first_name)
    if cleaned is None:
        return
    row = await uow.session.get(StaffName, user_id)
    if row is None:
        uow.session.add(
            StaffName(user_id=user_id, first_name=cleaned, on_duty=True, updated_at=now)
        )
    elif row.first_name != cleaned:
        row.first_name = cleaned
        row.updated_at = now


async def set_display_name(
    uow: UnitOfWork, user_id: int, name: str | None, now: datetime
) -> str | None:
    """Set (or, with an empty name, clear) the name colleagues see; returns it."""
    cleaned = _clean(name)
    row = await uow.session.get(StaffName, user_id)
    if row is None:
        row = StaffName(user_id=user_id, on_duty=True, updated_at=now)
        uow.session.add(row)
    row.display_name = cleaned
    row.updated_at = now
    return cleaned


async def set_on_duty(uow: UnitOfWork, user_id: int, on_duty: bool, now: datetime) -> None:
    """Whether urgent cases are also sent to this moderator privately."""
    row = await uow.session.get(StaffName, user_id)
    if row is None:
        row = StaffName(user_id=user_id, on_duty=on_duty, updated_at=now)
        uow.session.add(row)
    row.on_duty = on_duty
    row.updated_at = now


async def names_of(uow: UnitOfWork, user_ids: Iterable[int | None]) -> dict[int, str]:
    """The shown name of each of `user_ids` that has one (display name first)."""
    wanted = sorted({user_id for user_id in user_ids if user_id})
    if not wanted:
        return {}
    rows = await uow.session.scalars(select(StaffName).where(StaffName.user_id.in_(wanted)))
    found: dict[int, str] = {}
    for row in rows:
        name = row.display_name or row.first_name
        if name:
            found[row.user_id] = name
    return found


async def name_of(uow: UnitOfWork, user_id: int | None) -> str | None:
    """The shown name of one staff member; None when nobody (or no name is known)."""
    if not user_id:
        return None
    return (await names_of(uow, [user_id])).get(user_id)
