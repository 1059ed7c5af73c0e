"""Due-time work: features register a handler per task kind and schedule rows (SPEC §2).

A task handler runs inside the unit of work that marks the task done, so whatever it
changes or queues happens exactly once even if the instance dies half-way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from storage import tasks as task_store
from storage.database import UnitOfWork

TaskHandler = Callable[[UnitOfWork, dict[str, Any], datetime], Awaitable[None]]


class TaskRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, TaskHandler] = {}

    def register(self, kind: str, handler: TaskHandler) -> None:
        if kind in self._handlers:
            raise ValueError(f"task kind {kind!r} registered twice")
        self._handlers[kind] = handler

    def handler_for(self, kind: str) -> TaskHandler | None:
        return self._handlers.get(kind)

    def kinds(self) -> list[str]:
        return sorted(self._handlers)


async def schedule_task(
    uow: UnitOfWork,
    *,
    kind: str,
    payload: dict[str, Any],
    due_at: datetime,
    now: datetime,
    dedupe_key: str | None = None,
) -> bool:
    """Schedule work at `due_at`; a `dedupe_key` seen before schedules nothing."""
    return await task_store.schedule(
        uow.session, kind=kind, payload=payload, due_at=due_at, now=now, dedupe_key=dedupe_key
    )


async def cancel_tasks(uow: UnitOfWork, dedupe_prefix: str) -> int:
    return await task_store.cancel_by_dedupe_prefix(uow.session, dedupe_prefix)
