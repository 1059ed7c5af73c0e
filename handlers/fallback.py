"""What answers when nothing else did: unknown commands, stale buttons, odd messages."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from bot.runtime.context import HiwarContext
from bot.runtime.replies import say
from handlers.flow_input import on_unsupported


async def unknown_command(update: Update, ctx: HiwarContext) -> None:
    """In a group an unknown command gets silence (it may be another bot's), so a staff
    command from someone without the role gets silence there too: nothing tells them apart."""
    chat = update.effective_chat
    if chat is not None and chat.type != ChatType.PRIVATE:
        return
    await say(update, ctx, "errors.unknown_command")


async def stale_button(update: Update, ctx: HiwarContext) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer(ctx.services.catalogue.plain(ctx.language, "flow.stale_button_no_flow"))


async def edited_message(update: Update, ctx: HiwarContext) -> None:
    await say(update, ctx, "flow.edits_not_read")


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Registered last in group 0, so they only see what no feature handled."""
    private = filters.ChatType.PRIVATE
    application.add_handler(
        MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, edited_message)
    )
    application.add_handler(MessageHandler(private & filters.COMMAND, unknown_command))
    application.add_handler(CallbackQueryHandler(stale_button))
    application.add_handler(
        MessageHandler(private & filters.UpdateType.MESSAGE & ~filters.COMMAND, on_unsupported)
    )
