"""Organisers' announcements (SPEC §4.2): /broadcast walks the texts, media, audience and
time; the confirmation card turns into the progress message; /broadcasts lists recent ones
with their figures and cancels a scheduled or running one.

Every command and button goes through `staff_only(Role.ORGANISER)`; the services audit
every action.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from admin.access import StaffCallback, staff_only
from bot.broadcasts import delivery as broadcast_delivery
from bot.broadcasts.delivery import CANCEL_PREFIX, DeliveryContext
from bot.broadcasts.flow import CONFIRM_PREFIX, DISCARD_PREFIX, FLOW, NewBroadcastFlow
from bot.broadcasts.lifecycle import (
    ACTIVE,
    SENDING,
    TASK_ENQUEUE,
    TASK_PROGRESS,
    BroadcastNotFound,
    NotActive,
    NotADraft,
    cancel_broadcast,
    confirm_broadcast,
    discard_draft,
    recent_broadcasts,
)
from bot.engines import flows
from bot.engines.flows import FlowRegistry
from bot.engines.outbox import Button
from bot.engines.roles import Role
from bot.engines.tasks import TaskRegistry
from bot.runtime.context import HiwarContext, Services
from bot.runtime.replies import markup, say, send_html, show_flow_reply
from storage.database import UnitOfWork

PREFIX = "bc:"
HALT_PREFIX = "bc:halt:"
LARGEST_ID = 10**12

staff_commands = (
    ("broadcast", "broadcasts.commands.broadcast"),
    ("broadcasts", "broadcasts.commands.broadcasts"),
)


def organisers(callback: StaffCallback) -> Any:
    """`staff_only(Role.ORGANISER)`, as a coroutine function python-telegram-bot accepts."""
    guarded = staff_only(Role.ORGANISER)(callback)

    @functools.wraps(guarded)
    async def run(update: Update, ctx: HiwarContext) -> None:
        await guarded(update, ctx)

    return run


def _label(ctx: HiwarContext, key: str, **variables: Any) -> str:
    return ctx.services.catalogue.plain(ctx.language, key, **variables)


def _actor(update: Update) -> int:
    assert update.effective_user is not None
    return update.effective_user.id


def _now(ctx: HiwarContext) -> datetime:
    return ctx.services.clock.now()


def _cancel_button(ctx: HiwarContext, broadcast_id: int) -> Button:
    return Button(_label(ctx, "broadcasts.buttons.cancel"), f"{CANCEL_PREFIX}{broadcast_id}")


async def new_broadcast(update: Update, ctx: HiwarContext) -> None:
    async with ctx.unit_of_work() as uow:
        reply = await flows.start_flow(
            uow, ctx.services.flows, _actor(update), FLOW, _now(ctx), {"language": ctx.language}
        )
        await uow.commit()
    await show_flow_reply(update, ctx, reply)


async def list_broadcasts(update: Update, ctx: HiwarContext) -> None:
    async with ctx.services.database.unit_of_work() as uow:
        recent = await recent_broadcasts(uow)
    if not recent:
        await say(update, ctx, "broadcasts.list.none")
        return
    lines = [
        ctx.services.catalogue.render(
            ctx.language,
            "broadcasts.list.item",
            broadcast_id=view.id,
            status=_label(ctx, f"broadcasts.status.{view.status}"),
            created_at=view.created_at,
            send_at=view.send_at,
            total=figures.total,
            sent=figures.sent,
            blocked=figures.blocked,
            failed=figures.failed,
            remaining=figures.remaining,
        )
        for view, figures in recent
    ]
    buttons = [
        [
            Button(
                _label(ctx, "broadcasts.buttons.cancel_numbered", broadcast_id=view.id),
                f"{CANCEL_PREFIX}{view.id}",
            )
        ]
        for view, _figures in recent
        if view.status in ACTIVE
    ]
    await say(update, ctx, "broadcasts.list.header", buttons=buttons, items="\n\n".join(lines))


async def _edit_card(
    update: Update, ctx: HiwarContext, text: str, rows: list[list[Button]]
) -> None:
    """Turn the card the organiser pressed into `text`; a card too old to edit is re-sent."""
    query = update.callback_query
    message = query.message if query is not None else None
    if message is not None:
        try:
            await ctx.bot.edit_message_text(
                text,
                chat_id=message.chat.id,
                message_id=message.message_id,
                reply_markup=markup(rows),
            )
            return
        except BadRequest:
            pass
    await send_html(update, ctx, text, markup(rows))


async def confirm(update: Update, ctx: HiwarContext, broadcast_id: int) -> None:
    query = update.callback_query
    assert query is not None and query.message is not None
    try:
        async with ctx.unit_of_work() as uow:
            view = await confirm_broadcast(
                uow,
                broadcast_id,
                actor_id=_actor(update),
                progress_chat_id=query.message.chat.id,
                progress_message_id=query.message.message_id,
                now=_now(ctx),
            )
            await uow.commit()
    except (BroadcastNotFound, NotADraft):
        await say(update, ctx, "broadcasts.errors.not_a_draft")
        return
    catalogue = ctx.services.catalogue
    if view.status == SENDING:
        text = catalogue.render(ctx.language, "broadcasts.progress.starting", broadcast_id=view.id)
    else:
        text = catalogue.render(
            ctx.language, "broadcasts.card.scheduled", broadcast_id=view.id, send_at=view.send_at
        )
    await _edit_card(update, ctx, text, [[_cancel_button(ctx, view.id)]])


async def discard(update: Update, ctx: HiwarContext, broadcast_id: int) -> None:
    try:
        async with ctx.unit_of_work() as uow:
            view = await discard_draft(uow, broadcast_id, actor_id=_actor(update), now=_now(ctx))
            await uow.commit()
    except (BroadcastNotFound, NotADraft):
        await say(update, ctx, "broadcasts.errors.not_a_draft")
        return
    text = ctx.services.catalogue.render(
        ctx.language, "broadcasts.card.discarded", broadcast_id=view.id
    )
    await _edit_card(update, ctx, text, [])


async def ask_cancel(update: Update, ctx: HiwarContext, broadcast_id: int) -> None:
    yes = Button(_label(ctx, "broadcasts.buttons.confirm_cancel"), f"{HALT_PREFIX}{broadcast_id}")
    await say(update, ctx, "broadcasts.cancel.ask", buttons=[[yes]], broadcast_id=broadcast_id)


async def cancel(update: Update, ctx: HiwarContext, broadcast_id: int) -> None:
    try:
        async with ctx.unit_of_work() as uow:
            figures = await cancel_broadcast(
                uow, ctx.services.catalogue, broadcast_id, actor_id=_actor(update), now=_now(ctx)
            )
            await uow.commit()
    except (BroadcastNotFound, NotActive):
        await say(update, ctx, "broadcasts.cancel.not_active")
        return
    await say(
        update,
        ctx,
        "broadcasts.cancel.done",
        broadcast_id=broadcast_id,
        sent=figures.sent,
        withdrawn=figures.cancelled,
    )


BUTTON_ACTIONS: dict[str, Callable[[Update, HiwarContext, int], Awaitable[None]]] = {
    CONFIRM_PREFIX: confirm,
    DISCARD_PREFIX: discard,
    CANCEL_PREFIX: ask_cancel,
    HALT_PREFIX: cancel,
}


async def on_button(update: Update, ctx: HiwarContext) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    data = query.data or ""
    for prefix, action in BUTTON_ACTIONS.items():
        rest = data.removeprefix(prefix)
        if rest != data and rest.isdigit() and 0 < int(rest) < LARGEST_ID:
            await action(update, ctx, int(rest))
            return
    await say(update, ctx, "broadcasts.errors.bad_button")


def register(application: Application) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    application.add_handler(
        CommandHandler("broadcast", organisers(new_broadcast), filters=private)
    )
    application.add_handler(
        CommandHandler("broadcasts", organisers(list_broadcasts), filters=private)
    )
    application.add_handler(CallbackQueryHandler(organisers(on_button), pattern=f"^{PREFIX}"))


def register_flows(registry: FlowRegistry, services: Services) -> None:
    registry.add(
        NewBroadcastFlow(
            services.settings.timezone,
            services.clock.now,
            services.catalogue,
            services.settings.default_language,
        )
    )


def register_tasks(registry: TaskRegistry, services: Services) -> None:
    delivery = DeliveryContext(services.catalogue, services.settings.default_language)

    async def enqueue(uow: UnitOfWork, payload: dict[str, Any], now: datetime) -> None:
        await broadcast_delivery.enqueue_batch(uow, delivery, payload, now)

    async def progress(uow: UnitOfWork, payload: dict[str, Any], now: datetime) -> None:
        await broadcast_delivery.follow_progress(uow, delivery, payload, now)

    registry.register(TASK_ENQUEUE, enqueue)
    registry.register(TASK_PROGRESS, progress)
