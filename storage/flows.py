"""Repository of conversation state: one active flow per member (SPEC §2). Never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FlowState


@dataclass(frozen=True)
class StoredFlow:
    user_id: int
    flow: str
    step: str
    data: dict[str, Any]
    version: int
    prompt_message_id: int | None = None


@dataclass(frozen=True)
class PromptShown:
    """Message `message_id` shows the question of the member's flow at `version`."""

    user_id: int
    version: int
    message_id: int


async def load_flow(session: AsyncSession, user_id: int) -> StoredFlow | None:
    # Columns, not an ORM object: read on every answer, and nothing here needs tracking.
    result = await session.execute(
        select(
            FlowState.flow,
            FlowState.step,
            FlowState.data,
            FlowState.version,
            FlowState.prompt_message_id,
        ).where(FlowState.user_id == user_id)
    )
    row = result.first()
    if row is None:
        return None
    flow, step, data, version, prompt_message_id = row
    return StoredFlow(user_id, flow, step, dict(data), version, prompt_message_id)


async def save_flow(
    session: AsyncSession,
    user_id: int,
    flow: str,
    step: str,
    data: dict[str, Any],
    now: datetime,
) -> StoredFlow:
    """Create or move the member's flow; every save bumps the version (stale-button check).

    Moving the flow in progress is one UPDATE ... RETURNING (the common case: one answer);
    starting a flow replaces whatever flow the member had.
    """
    moved = await session.scalar(
        update(FlowState)
        .where(FlowState.user_id == user_id, FlowState.flow == flow)
        .values(step=step, data=data, version=FlowState.version + 1, updated_at=now)
        .returning(FlowState.version)
        .execution_options(synchronize_session=False)
    )
    if moved is not None:
        return StoredFlow(user_id, flow, step, dict(data), int(moved))
    await session.execute(delete(FlowState).where(FlowState.user_id == user_id))
    session.add(
        FlowState(
            user_id=user_id,
            flow=flow,
            step=step,
            data=data,
            version=1,
            started_at=now,
            updated_at=now,
        )
    )
    await session.flush()
    return StoredFlow(user_id, flow, step, dict(data), 1)


async def replace_data(
    session: AsyncSession, user_id: int, version: int, data: dict[str, Any]
) -> bool:
    """Rewrite the answers of the flow at `version` without moving it (no version bump)."""
    result = await session.execute(
        update(FlowState)
        .where(FlowState.user_id == user_id, FlowState.version == version)
        .values(data=data)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def note_prompts_shown(session: AsyncSession, shown: list[PromptShown]) -> None:
    """Note which messages show the members' current questions (one statement for all;
    a flow that has moved on since keeps what it has)."""
    if not shown:
        return
    table: Table = FlowState.__table__  # type: ignore[assignment]
    await session.execute(
        update(table)
        .where(table.c.user_id == bindparam("b_user"), table.c.version == bindparam("b_version"))
        .values(prompt_message_id=bindparam("b_message")),
        [
            {"b_user": item.user_id, "b_version": item.version, "b_message": item.message_id}
            for item in shown
        ],
    )


async def clear_flow(session: AsyncSession, user_id: int) -> bool:
    result = await session.execute(delete(FlowState).where(FlowState.user_id == user_id))
    return bool(getattr(result, "rowcount", 0))
