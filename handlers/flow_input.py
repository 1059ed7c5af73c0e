"""Routing a member's answers (typed text, buttons, voice notes, photos) to their flow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.engines import flows
from bot.engines.flows import FlowInput, Media
from bot.runtime.context import HiwarContext
from bot.runtime.replies import CANCEL, FLOW_CALLBACK_PREFIX, say, show_flow_reply

MAX_TEXT = 4096
PRIVATE = filters.ChatType.PRIVATE
MEDIA = filters.VOICE | filters.PHOTO | filters.AUDIO | filters.VIDEO | filters.Document.ALL
Handler = Callable[[Update, HiwarContext], Awaitable[None]]
# Flows whose cancel asks first (a survey: stop for now, or discard the answers), by name.
_ASK_BEFORE_CANCEL: dict[str, Handler] = {}
# What a newcomer's first text message does when no flow is in progress (onboarding).
_NO_FLOW_TEXT: list[Callable[[Update, HiwarContext], Awaitable[bool]]] = []
# What a photo or file does when no flow is in progress (a ticket photo at the door).
_NO_FLOW_MEDIA: list[Callable[[Update, HiwarContext], Awaitable[bool]]] = []


def ask_before_cancel(flow: str, ask: Handler) -> None:
    """Let `flow` ask the member before it is cancelled (its handler decides what to offer)."""
    _ASK_BEFORE_CANCEL[flow] = ask


def on_text_without_flow(handler: Callable[[Update, HiwarContext], Awaitable[bool]]) -> None:
    """Try `handler` on text sent with no flow in progress; True means it answered."""
    if handler not in _NO_FLOW_TEXT:
        _NO_FLOW_TEXT.append(handler)


def on_media_without_flow(
    handler: Callable[[Update, HiwarContext], Awaitable[bool]],
) -> None:
    """Try `handler` on media sent with no flow in progress; True means it answered."""
    if handler not in _NO_FLOW_MEDIA:
        _NO_FLOW_MEDIA.append(handler)


def media_of(update: Update) -> Media | None:
    message = update.effective_message
    if message is None:
        return None
    if message.voice is not None:
        return Media("voice", message.voice.file_id)
    if message.photo:
        return Media("photo", message.photo[-1].file_id)
    if message.audio is not None:
        return Media("audio", message.audio.file_id)
    if message.video is not None:
        return Media("video", message.video.file_id)
    if message.document is not None:
        return Media("document", message.document.file_id)
    return None


async def _feed(update: Update, ctx: HiwarContext, given: FlowInput, version: int | None) -> bool:
    user = update.effective_user
    if user is None:
        return False
    services = ctx.services
    async with ctx.unit_of_work() as uow:
        reply = await flows.handle_input(
            uow, services.flows, user.id, given, services.clock.now(), version=version
        )
        if reply is None:
            return False
        await uow.commit()
    await show_flow_reply(update, ctx, reply)
    return True


async def on_flow_button(update: Update, ctx: HiwarContext) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    parts = (query.data or "").split(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        await say(update, ctx, "flow.stale_button_no_flow")
        return
    version, value = int(parts[1]), parts[2]
    if value == CANCEL:
        await cancel(update, ctx)
        return
    if not await _feed(update, ctx, FlowInput(choice=value), version):
        await say(update, ctx, "flow.stale_button_no_flow")


async def on_text(update: Update, ctx: HiwarContext) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    if await _feed(update, ctx, FlowInput(text=message.text[:MAX_TEXT]), None):
        return
    for handler in _NO_FLOW_TEXT:
        if await handler(update, ctx):
            return
    await say(update, ctx, "flow.no_flow_hint")


async def on_media(update: Update, ctx: HiwarContext) -> None:
    media = media_of(update)
    assert media is not None
    caption = update.effective_message.caption if update.effective_message else None
    if await _feed(update, ctx, FlowInput(media=media, text=caption), None):
        return
    for handler in _NO_FLOW_MEDIA:
        if await handler(update, ctx):
            return
    await say(update, ctx, "flow.no_flow_hint")


async def on_location(update: Update, ctx: HiwarContext) -> None:
    message = update.effective_message
    assert message is not None and message.location is not None
    user = update.effective_user
    if user is None:
        return
    async with ctx.services.database.unit_of_work() as uow:
        current = await flows.current_prompt(uow, ctx.services.flows, user.id)
    if current is None or current.prompt is None or not current.prompt.request_location:
        await on_unsupported(update, ctx)  # only a question that asks for a place takes one
        return
    point = (message.location.latitude, message.location.longitude)
    if not await _feed(update, ctx, FlowInput(location=point), None):
        await say(update, ctx, "flow.no_flow_hint")


async def on_unsupported(update: Update, ctx: HiwarContext) -> None:
    user = update.effective_user
    if user is None:
        return
    async with ctx.services.database.unit_of_work() as uow:
        reply = await flows.current_prompt(uow, ctx.services.flows, user.id)
    await say(update, ctx, "flow.unsupported_message")
    if reply is not None:
        await show_flow_reply(update, ctx, reply)


async def cancel(update: Update, ctx: HiwarContext) -> None:
    user = update.effective_user
    if user is None:
        return
    async with ctx.services.database.unit_of_work() as uow:
        name = await flows.active_flow_name(uow, user.id)
    ask = _ASK_BEFORE_CANCEL.get(name or "")
    if ask is not None:
        await ask(update, ctx)
        return
    async with ctx.unit_of_work() as uow:
        cancelled = await flows.cancel_flow(uow, user.id)
        await uow.commit()
    await say(update, ctx, "flow.cancelled" if cancelled else "flow.nothing_to_cancel")


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("cancel", cancel, filters=PRIVATE))
    application.add_handler(
        CallbackQueryHandler(on_flow_button, pattern=f"^{FLOW_CALLBACK_PREFIX}")
    )
    application.add_handler(
        MessageHandler(
            PRIVATE & filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, on_text
        )
    )
    application.add_handler(MessageHandler(PRIVATE & filters.UpdateType.MESSAGE & MEDIA, on_media))
    application.add_handler(
        MessageHandler(PRIVATE & filters.UpdateType.MESSAGE & filters.LOCATION, on_location)
    )
