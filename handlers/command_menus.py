"""Telegram's command menus (SPEC §6): members' commands for everyone, per language; staff
commands only in staff chats (each staff member's private chat and MODERATOR_CHAT_ID).

The commands come from the feature modules' `member_commands` / `staff_commands` (see
`bot.engines.command_menu`); the roles of a staff command come from its handler's
`staff_only` guard.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from types import ModuleType

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler

from admin.access import allowed_roles_of
from bot.engines.command_menu import CommandMenu, MenuCommand, collect_commands
from bot.engines.roles import Role, list_staff, roles_of
from bot.runtime.context import HiwarContext, Services
from messages import LANGUAGES

logger = logging.getLogger(__name__)

MENU_KEY = "command_menu"


def feature_modules(application: Application) -> list[ModuleType]:  # type: ignore[type-arg]
    """The configured features plus every module whose callbacks are registered."""
    services: Services = application.bot_data["services"]
    modules: dict[str, ModuleType] = {module.__name__: module for module in services.features}
    for handlers in application.handlers.values():
        for handler in handlers:
            name = getattr(handler.callback, "__module__", None)
            module = sys.modules.get(name) if name else None
            if module is not None:
                modules.setdefault(module.__name__, module)
    return list(modules.values())


def guarded_commands(application: Application) -> dict[str, frozenset[Role]]:  # type: ignore[type-arg]
    """Command → roles allowed by its `staff_only` guard, for every guarded CommandHandler."""
    guarded: dict[str, frozenset[Role]] = {}
    for handlers in application.handlers.values():
        for handler in handlers:
            roles = allowed_roles_of(handler.callback)
            if isinstance(handler, CommandHandler) and roles is not None:
                for command in handler.commands:
                    guarded[command] = guarded.get(command, frozenset()) | roles
    return guarded


def build_command_menu(application: Application) -> CommandMenu:  # type: ignore[type-arg]
    return collect_commands(feature_modules(application), guarded_commands(application))


def command_menu_of(ctx: HiwarContext) -> CommandMenu:
    menu = ctx.services.extras.get(MENU_KEY)
    if not isinstance(menu, CommandMenu):
        menu = build_command_menu(ctx.application)
        ctx.services.extras[MENU_KEY] = menu
    return menu


def _bot_commands(
    services: Services, language: str, commands: Iterable[MenuCommand]
) -> list[BotCommand]:
    catalogue = services.catalogue
    return [
        BotCommand(c.command, catalogue.plain(language, c.description_key)[:256]) for c in commands
    ]


async def _set_for_languages(
    bot: Bot,
    services: Services,
    commands: tuple[MenuCommand, ...],
    scope: BotCommandScopeDefault | BotCommandScopeChat,
) -> None:
    for language in LANGUAGES:
        await bot.set_my_commands(
            _bot_commands(services, language, commands), scope=scope, language_code=language
        )
    # Without a language: what members whose language is neither Arabic nor English see.
    default = services.settings.default_language
    await bot.set_my_commands(_bot_commands(services, default, commands), scope=scope)


async def refresh_staff_chat(
    bot: Bot, services: Services, menu: CommandMenu, user_id: int
) -> None:
    """Show `user_id` the staff commands their roles allow, or only members' if none."""
    async with services.database.unit_of_work() as uow:
        roles = await roles_of(uow, user_id)
    scope = BotCommandScopeChat(user_id)
    staff = menu.staff_commands_for(roles)
    if not staff:
        for language in (*LANGUAGES, None):
            await bot.delete_my_commands(scope=scope, language_code=language)
        return
    await _set_for_languages(bot, services, (*menu.member, *staff), scope)


async def publish_command_menus(services: Services, application: Application) -> None:  # type: ignore[type-arg]
    menu = build_command_menu(application)
    services.extras[MENU_KEY] = menu
    bot = application.bot
    try:
        await _set_for_languages(bot, services, menu.member, BotCommandScopeDefault())
        async with services.database.unit_of_work() as uow:
            staff = await list_staff(uow)
        for member in staff:
            await refresh_staff_chat(bot, services, menu, member.user_id)
        chat_id = services.settings.moderator_chat_id
        if chat_id is not None:
            moderators = menu.staff_commands_for({Role.MODERATOR})
            await _set_for_languages(bot, services, moderators, BotCommandScopeChat(chat_id))
    except TelegramError as error:
        logger.warning("command menus not published: %s", type(error).__name__)
