"""/unsubscribe and /subscribe: a member stops or resumes announcements (SPEC §3.5)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from bot.members.subscriptions import NotAMember, set_subscribed
from bot.runtime.context import HiwarContext
from bot.runtime.replies import say
from handlers import deep_links
from handlers.consent import require_consent

member_commands = (
    ("unsubscribe", "broadcasts.commands.unsubscribe"),
    ("subscribe", "broadcasts.commands.subscribe"),
)


async def _change(update: Update, ctx: HiwarContext, subscribed: bool) -> None:
    user = update.effective_user
    if user is None:
        return
    word = "subscribe" if subscribed else "unsubscribe"
    if not await require_consent(update, ctx, resume=word):
        return
    try:
        async with ctx.unit_of_work() as uow:
            change = await set_subscribed(uow, user.id, subscribed, ctx.services.clock.now())
            await uow.commit()
    except NotAMember:  # erased between the consent check and now
        await require_consent(update, ctx, resume=word)
        return
    state = "done" if change.changed else "already"
    await say(update, ctx, f"broadcasts.subscription.{word}_{state}")


async def subscribe(update: Update, ctx: HiwarContext) -> None:
    await _change(update, ctx, True)


async def unsubscribe(update: Update, ctx: HiwarContext) -> None:
    await _change(update, ctx, False)


async def _resume_subscribe(update: Update, ctx: HiwarContext, _target: int | None) -> None:
    await subscribe(update, ctx)


async def _resume_unsubscribe(update: Update, ctx: HiwarContext, _target: int | None) -> None:
    await unsubscribe(update, ctx)


def register(application: Application) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    deep_links.register_start_route("subscribe", _resume_subscribe)
    deep_links.register_start_route("unsubscribe", _resume_unsubscribe)
    application.add_handler(CommandHandler("subscribe", subscribe, filters=private))
    application.add_handler(CommandHandler("unsubscribe", unsubscribe, filters=private))
