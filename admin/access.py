"""The one check every staff command and every staff button goes through (SPEC §4).

`staff_only(...)` reads the user's roles from the database on every use. Someone without an
allowed role gets exactly what an unknown command (or a dead button) gets, so staff features
are invisible to members. A staff member's Telegram first name is kept as they act (the name
colleagues and the audit log show until they set one with /myname). Decorated callbacks
carry `hiwar_allowed_roles`, which the test suite uses to prove every registered staff
handler is guarded.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update

from bot.engines.roles import Role, may_act, roles_of
from bot.moderation.staff_names import remember_first_name
from bot.runtime.context import HiwarContext
from handlers.fallback import stale_button, unknown_command

StaffCallback = Callable[[Update, HiwarContext], Coroutine[Any, Any, None]]
ALLOWED_ROLES_ATTRIBUTE = "hiwar_allowed_roles"


def allowed_roles_of(callback: Any) -> frozenset[Role] | None:
    roles = getattr(callback, ALLOWED_ROLES_ATTRIBUTE, None)
    return roles if isinstance(roles, frozenset) else None


def staff_only(*allowed: Role) -> Callable[[StaffCallback], StaffCallback]:
    if not allowed:
        raise ValueError("name at least one role")
    allowed_set = frozenset(allowed)

    def decorate(callback: StaffCallback) -> StaffCallback:
        @functools.wraps(callback)
        async def guarded(update: Update, ctx: HiwarContext) -> None:
            user = update.effective_user
            held: frozenset[Role] = frozenset()
            if user is not None:
                async with ctx.services.database.unit_of_work() as uow:
                    held = await roles_of(uow, user.id)
                    if held:
                        # Colleagues and the audit log name staff, never by id (issue 18).
                        now = ctx.services.clock.now()
                        await remember_first_name(uow, user.id, user.first_name, now)
                        if uow.session.new or uow.session.dirty:
                            await uow.commit()
            if not may_act(held, allowed_set):
                if update.callback_query is not None:
                    await stale_button(update, ctx)
                else:
                    await unknown_command(update, ctx)
                return
            ctx.staff_roles = held
            await callback(update, ctx)

        setattr(guarded, ALLOWED_ROLES_ATTRIBUTE, allowed_set)
        return guarded

    return decorate
