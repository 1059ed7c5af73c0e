"""Dialect-aware INSERT … ON CONFLICT, for the two databases Hiwar runs on."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


def insert_for(session: AsyncSession, model: type[DeclarativeBase]) -> Any:
    """An `insert()` construct of the session's dialect (it has `on_conflict_do_*`)."""
    if session.bind.dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


async def take_or_renew_lease(
    session: AsyncSession,
    model: Any,
    key_column: str,
    key: object,
    owner: str,
    now: datetime,
    duration: timedelta,
) -> bool:
    """Take or renew the lease row `key` of `model` (a table with `owner` and `expires_at`):
    True when it is now `owner`'s, False while another owner holds it unexpired. One
    statement: a row comes back only when the lease was inserted or the update's condition
    held."""
    statement = insert_for(session, model).values(
        {key_column: key, "owner": owner, "expires_at": now + duration}
    )
    statement = statement.on_conflict_do_update(
        index_elements=[key_column],
        set_={"owner": owner, "expires_at": now + duration},
        where=or_(model.expires_at < now, model.owner == owner),
    )
    holder: str | None = await session.scalar(statement.returning(model.owner))
    return holder == owner
