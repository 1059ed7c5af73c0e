"""Members' commands sent in a group: "please talk to me privately", with a link to the bot.

Staff commands are left alone (they work in the staff group); other group messages are not
ours to answer.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, MessageHandler, filters

from bot.engines.outbox import Button
from bot.runtime.context import HiwarContext
from bot.runtime.replies import say
from handlers.command_menus import command_menu_of
from handlers.prefilters import LANGUAGE_GROUP

GROUP_CHATS_GROUP = LANGUAGE_GROUP + 20


def command_in(text: str, bot_username: str) -> str | None:
    """`/start@our_bot x` → "start"; a command addressed to another bot → None."""
    head = text.split(maxsplit=1)[0] if text.strip() else ""
    if not head.startswith("/"):
        return None
    name, _, addressee = head[1:].partition("@")
    if addressee and addressee.lower() != bot_username.lower():
        return None
    return name.lower()


async def redirect_to_private(update: Update, ctx: HiwarContext) -> None:
    message = update.message
    if message is None or message.text is None:
        return
    username = ctx.bot.username
    command = command_in(message.text, username)
    if command is None or command not in command_menu_of(ctx).member_command_names:
        return
    label = ctx.services.catalogue.plain(ctx.language, "onboarding.group.open_private_button")
    await say(
        update,
        ctx,
        "onboarding.group.private_only",
        buttons=[[Button(label, url=f"https://t.me/{username}")]],
    )
    raise ApplicationHandlerStop


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(
        MessageHandler(filters.ChatType.GROUPS & filters.COMMAND, redirect_to_private),
        group=GROUP_CHATS_GROUP,
    )
