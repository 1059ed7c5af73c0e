"""Member records: language, reachability and the fields the runtime needs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from storage.database import UnitOfWork
from storage.models import Member


async def stored_language(uow: UnitOfWork, user_id: int) -> str | None:
    language: str | None = await uow.session.scalar(
        select(Member.language).where(Member.user_id == user_id)
    )
    return language


async def get_or_create_member(uow: UnitOfWork, user_id: int, now: datetime) -> Member:
    member = await uow.session.get(Member, user_id)
    if member is None:
        member = Member(
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            subscribed=True,
            unreachable=False,
        )
        uow.session.add(member)
        await uow.session.flush()
    else:
        member.last_seen_at = now
        if member.unreachable:
            member.unreachable = False  # they wrote to us, so they have not blocked the bot
    return member


async def has_consented(uow: UnitOfWork, user_id: int) -> bool:
    consented = await uow.session.scalar(
        select(Member.consented_at).where(Member.user_id == user_id)
    )
    return consented is not None
