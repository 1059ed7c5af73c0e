"""Role administration for admins (SPEC §4.3): /grant USER_ID ROLE, /revoke USER_ID ROLE, /staff.

Every change is audited by `bot.engines.roles`. `ADMIN_IDS` are made admins at start-up,
after which the command menus are published (staff commands only in staff chats).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler

from admin.access import StaffCallback, staff_only
from bot.engines.numbers import parse_integer
from bot.engines.roles import (
    Role,
    UnknownRole,
    bootstrap_admins,
    grant_role,
    list_staff,
    parse_role,
    revoke_role,
)
from bot.runtime.context import HiwarContext, Services
from bot.runtime.replies import say, send_html
from handlers.command_menus import command_menu_of, publish_command_menus, refresh_staff_chat
from storage.database import UnitOfWork

logger = logging.getLogger(__name__)

staff_commands = (
    ("grant", "staff.commands.grant"),
    ("revoke", "staff.commands.revoke"),
    ("staff", "staff.commands.staff"),
)
ROLE_NAMES = ", ".join(role.value for role in Role)
LARGEST_USER_ID = 10**15


def parse_user_id(text: str) -> int | None:
    """A Telegram user id in Latin or Arabic-Indic digits; None for anything else."""
    value = parse_integer(text) if len(text) <= 32 else None
    return value if value is not None and 0 < value < LARGEST_USER_ID else None


def role_label(ctx: HiwarContext, role: Role) -> str:
    return ctx.services.catalogue.plain(ctx.language, f"staff.role.{role.value}")


async def _parse_change(
    update: Update, ctx: HiwarContext, usage_key: str
) -> tuple[int, Role] | None:
    args: Sequence[str] = ctx.args or []
    if len(args) != 2:
        await say(update, ctx, usage_key, roles=ROLE_NAMES)
        return None
    user_id = parse_user_id(args[0])
    if user_id is None:
        await say(update, ctx, "staff.bad_user_id", given=args[0][:32], roles=ROLE_NAMES)
        return None
    try:
        role = parse_role(args[1])
    except UnknownRole:
        await say(update, ctx, "staff.unknown_role", given=args[1][:32], roles=ROLE_NAMES)
        return None
    return user_id, role


async def _refresh_menu(ctx: HiwarContext, user_id: int) -> None:
    try:
        await refresh_staff_chat(ctx.bot, ctx.services, command_menu_of(ctx), user_id)
    except TelegramError as error:
        logger.warning("staff command menu not refreshed: %s", type(error).__name__)


class RoleChange(Protocol):
    """`grant_role` or `revoke_role`: True when the user's roles changed."""

    async def __call__(
        self, uow: UnitOfWork, *, actor_id: int | None, user_id: int, role: Role, now: datetime
    ) -> bool: ...


def role_change_command(
    change: RoleChange, usage_key: str, changed_key: str, unchanged_key: str
) -> StaffCallback:
    """`/grant` or `/revoke USER_ID ROLE`: the change, what happened, then the user's menu."""

    @staff_only(Role.ADMIN)
    async def command(update: Update, ctx: HiwarContext) -> None:
        parsed = await _parse_change(update, ctx, usage_key)
        actor = update.effective_user
        if parsed is None or actor is None:
            return
        user_id, role = parsed
        async with ctx.unit_of_work() as uow:
            changed = await change(
                uow, actor_id=actor.id, user_id=user_id, role=role, now=ctx.services.clock.now()
            )
            await uow.commit()
        key = changed_key if changed else unchanged_key
        await say(update, ctx, key, user_id=user_id, role=role_label(ctx, role))
        if changed:
            await _refresh_menu(ctx, user_id)

    return command


grant = role_change_command(grant_role, "staff.grant_usage", "staff.granted", "staff.already_has")
revoke = role_change_command(
    revoke_role, "staff.revoke_usage", "staff.revoked", "staff.did_not_have"
)


@staff_only(Role.ADMIN)
async def show_staff(update: Update, ctx: HiwarContext) -> None:
    async with ctx.services.database.unit_of_work() as uow:
        staff = await list_staff(uow)
    if not staff:
        await say(update, ctx, "staff.list_empty")
        return
    catalogue, language = ctx.services.catalogue, ctx.language
    lines = [catalogue.render(language, "staff.list_title")]
    separator = "، " if language == "ar" else ", "
    for member in staff:
        lines.append(
            catalogue.render(
                language,
                "staff.list_line",
                user_id=member.user_id,
                roles=separator.join(role_label(ctx, role) for role in member.roles),
            )
        )
    await send_html(update, ctx, "\n".join(lines))


async def make_configured_admins(services: Services) -> int:
    """ADMIN_IDS become admins; two instances starting at once both end up correct."""
    for attempt in range(2):
        try:
            async with services.database.unit_of_work() as uow:
                added = await bootstrap_admins(
                    uow, services.settings.admin_ids, services.clock.now()
                )
                await uow.commit()
            return added
        except IntegrityError:
            if attempt:
                raise
    return 0


async def on_startup(services: Services, application: Application) -> None:  # type: ignore[type-arg]
    await make_configured_admins(services)
    await publish_command_menus(services, application)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("grant", grant))
    application.add_handler(CommandHandler("revoke", revoke))
    application.add_handler(CommandHandler("staff", show_staff))
