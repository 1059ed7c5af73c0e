"""Erasing a member's personal data on request (/deletemydata, SPEC §3.1).

The core erases the member row, any conversation in progress, unlinks the member's chat
from the inbox and the outbox, and deletes finished tasks that name the member. Features
that keep personal data of their own (registrations, grievance identity links, survey
respondents) register a hook here; every hook runs in the same unit of work, so the
erasure is all or nothing.
Staff roles and the audit log are not touched: they concern staff work, not the member.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete

from storage import inbox, outbox, tasks
from storage.database import UnitOfWork
from storage.models import FlowState, Member

ErasureHook = Callable[[UnitOfWork, int, datetime], Awaitable[None]]

_HOOKS: list[ErasureHook] = []


def register_erasure_hook(hook: ErasureHook) -> None:
    """Run `hook(uow, user_id, now)` on every erasure (registering twice is harmless)."""
    if hook not in _HOOKS:
        _HOOKS.append(hook)


def erasure_hooks() -> tuple[ErasureHook, ...]:
    return tuple(_HOOKS)


@dataclass(frozen=True)
class ErasureResult:
    member_erased: bool
    hooks_run: int


async def erase_member(uow: UnitOfWork, user_id: int, now: datetime) -> ErasureResult:
    """Remove the member's personal data; the caller commits."""
    for hook in erasure_hooks():
        await hook(uow, user_id, now)
    await uow.session.execute(delete(FlowState).where(FlowState.user_id == user_id))
    await inbox.forget_chat(uow.session, user_id, now)
    await tasks.forget_member(uow.session, user_id)
    await outbox.forget_chat(uow.session, user_id, now)
    result = await uow.session.execute(delete(Member).where(Member.user_id == user_id))
    return ErasureResult(bool(getattr(result, "rowcount", 0)), len(_HOOKS))
