"""Repository of conversation state: one active flow per member (SPEC §2). Never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FlowState, UtcDateTime

# Read and written on every answer: built once, from the table (see storage/outbox.py).
_FLOWS: Table = FlowState.__table__  # type: ignore[assignment]
_LOAD = select(
    _FLOWS.c.flow, _FLOWS.c.step, _FLOWS.c.data, _FLOWS.c.version, _FLOWS.c.prompt_message_id
).where(_FLOWS.c.user_id == bindparam("b_user"))
_MOVE = (
    update(_FLOWS)
    .where(_FLOWS.c.user_id == bindparam("b_user"), _FLOWS.c.flow == bindparam("b_flow"))
    .values(
        step=bindparam("b_step"),
        data=bindparam("b_data", type_=_FLOWS.c.data.type),
        version=_FLOWS.c.version + 1,
        updated_at=bindparam("b_now", type_=UtcDateTime()),
    )
    .returning(_FLOWS.c.version)
)
_NOTE_PROMPTS = (
    update(_FLOWS)
    .where(_FLOWS.c.user_id == bindparam("b_user"), _FLOWS.c.version == bindparam("b_version"))
    .values(prompt_message_id=bindparam("b_message"))
)


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
    result = await session.execute(_LOAD, {"b_user": user_id})
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
        _MOVE, {"b_user": user_id, "b_flow": flow, "b_step": step, "b_data": data, "b_now": now}
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
    await session.execute(
        _NOTE_PROMPTS,
        [
            {"b_user": item.user_id, "b_version": item.version, "b_message": item.message_id}
            for item in shown
        ],
    )


async def clear_flow(session: AsyncSession, user_id: int) -> bool:
    result = await session.execute(delete(FlowState).where(FlowState.user_id == user_id))
    return bool(getattr(result, "rowcount", 0))
