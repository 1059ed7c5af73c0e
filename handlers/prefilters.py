"""Handlers that run before every other one (negative groups): the member's language."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, TypeHandler

from bot.members.language import choose_language
from bot.members.records import stored_language
from bot.runtime.context import HiwarContext, current_scope

LANGUAGE_GROUP = -100


def text_of(update: Update) -> str | None:
    if update.callback_query is not None:
        message = update.callback_query.message
        # The member pressed a button on our own message: it is in their language.
        return getattr(message, "text", None) or getattr(message, "caption", None)
    message = update.effective_message
    if message is None:
        return None
    return message.text or message.caption


async def resolve_language(update: Update, ctx: HiwarContext) -> None:
    """Stored preference → Telegram language_code → the text itself → DEFAULT_LANGUAGE."""
    scope = current_scope()
    user = update.effective_user
    if scope is None:
        return
    settings = ctx.services.settings
    stored = scope.sender_language
    if user is not None and not scope.sender_language_known:
        async with ctx.services.database.unit_of_work(read_only=True) as uow:
            stored = await stored_language(uow, user.id)
    scope.language = choose_language(
        stored=stored,
        telegram_code=user.language_code if user is not None else None,
        text=text_of(update),
        default=settings.default_language,
    )


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(TypeHandler(Update, resolve_language), group=LANGUAGE_GROUP)
