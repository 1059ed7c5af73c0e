"""A member's places in dialogue sessions: the ticket (check-in code, QR image, calendar file),
/mysessions, resending a ticket and giving up a place (SPEC §3.2).

Also the small pieces the session handlers share: the session's template variables, button
labels and shortened titles. Button values start with `PREFIX`; `handlers.sessions` routes them.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.error import Forbidden

from bot.engines.outbox import Button
from bot.runtime.context import HiwarContext
from bot.runtime.replies import markup, say, send_file, send_html
from bot.sessions import registration
from bot.sessions.calendar_invites import calendar_file, calendar_filename, qr_png
from bot.sessions.lifecycle import CONFIRMED, SessionView, session_variables
from bot.sessions.registration import Ticket

logger = logging.getLogger(__name__)
PREFIX = "ses:"


def session_vars(ctx: HiwarContext, view: SessionView) -> dict[str, Any]:
    return session_variables(view, ctx.language, ctx.services.catalogue)


def button_label(ctx: HiwarContext, key: str, **variables: object) -> str:
    return ctx.services.catalogue.plain(ctx.language, key, **variables)


def shortened(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


async def send_ticket_files(update: Update, ctx: HiwarContext, ticket: Ticket) -> None:
    chat = update.effective_chat
    if chat is None or ticket.status != CONFIRMED:
        return
    services = ctx.services
    caption = button_label(ctx, "sessions.ticket.qr_caption", code=ticket.code)
    ics = calendar_file(ticket, ctx.language, services.settings.timezone, services.clock.now())
    try:
        await send_file(ctx, chat.id, "photo", "ticket.png", qr_png(ticket.qr_text), caption)
        await send_file(
            ctx,
            chat.id,
            "document",
            calendar_filename(ticket.session.id),
            ics,
            button_label(ctx, "sessions.ticket.ics_caption"),
        )
    except Forbidden:
        logger.info("ticket not delivered: the member has blocked the bot")


async def show_ticket(
    update: Update, ctx: HiwarContext, ticket: Ticket, *, again: bool = False
) -> None:
    """The ticket; `again` when it is shown once more (not a new registration)."""
    key = "sessions.ticket.confirmed" if ticket.status == CONFIRMED else "sessions.ticket.waiting"
    buttons = [
        [
            Button(
                button_label(ctx, "sessions.buttons.cancel"), f"{PREFIX}c:{ticket.registration_id}"
            )
        ]
    ]
    await say(
        update,
        ctx,
        key,
        buttons=buttons,
        again=again,
        code=ticket.code,
        position=ticket.position,
        **session_vars(ctx, ticket.session),
    )
    await send_ticket_files(update, ctx, ticket)


async def my_sessions(update: Update, ctx: HiwarContext) -> None:
    user = update.effective_user
    assert user is not None
    async with ctx.services.database.unit_of_work() as uow:
        tickets = await registration.my_tickets(uow, user.id, ctx.services.clock.now())
    if not tickets:
        await say(update, ctx, "sessions.mine.empty")
        return
    catalogue = ctx.services.catalogue
    items = [
        catalogue.render(
            ctx.language,
            "sessions.mine.item",
            status=ticket.status,
            code=ticket.code,
            position=ticket.position,
            **session_vars(ctx, ticket.session),
        )
        for ticket in tickets
    ]
    rows = [
        [
            Button(
                button_label(
                    ctx, "sessions.buttons.ticket", title=shortened(t.session.title(ctx.language))
                ),
                f"{PREFIX}t:{t.registration_id}",
            ),
            Button(button_label(ctx, "sessions.buttons.cancel"), f"{PREFIX}c:{t.registration_id}"),
        ]
        for t in tickets
    ]
    header = catalogue.render(ctx.language, "sessions.mine.header")
    await send_html(update, ctx, "\n\n".join([header, *items]), markup(rows))


async def ask_cancel(update: Update, ctx: HiwarContext, registration_id: int) -> None:
    user = update.effective_user
    assert user is not None
    async with ctx.services.database.unit_of_work() as uow:
        try:
            ticket = await registration.ticket_for(
                uow, registration_id=registration_id, user_id=user.id
            )
        except registration.RegistrationNotFound:
            ticket = None
    if ticket is None or ticket.status not in ("confirmed", "waiting"):
        await say(update, ctx, "sessions.errors.no_registration")
        return
    await say(
        update,
        ctx,
        "sessions.mine.confirm_cancel",
        buttons=[
            [
                Button(
                    button_label(ctx, "sessions.buttons.confirm_cancel"),
                    f"{PREFIX}x:{registration_id}",
                ),
                Button(button_label(ctx, "sessions.buttons.keep"), f"{PREFIX}k:{registration_id}"),
            ]
        ],
        **session_vars(ctx, ticket.session),
    )


async def cancel_place(update: Update, ctx: HiwarContext, registration_id: int) -> None:
    user = update.effective_user
    assert user is not None
    services = ctx.services
    try:
        async with ctx.unit_of_work() as uow:
            ticket = await registration.cancel_registration(
                uow,
                services.catalogue,
                registration_id=registration_id,
                user_id=user.id,
                now=services.clock.now(),
            )
            await uow.commit()
    except registration.RegistrationNotFound:
        await say(update, ctx, "sessions.errors.no_registration")
        return
    await say(update, ctx, "sessions.mine.cancelled", **session_vars(ctx, ticket.session))


async def resend_ticket(update: Update, ctx: HiwarContext, registration_id: int) -> None:
    user = update.effective_user
    assert user is not None
    async with ctx.services.database.unit_of_work() as uow:
        try:
            ticket = await registration.ticket_for(
                uow, registration_id=registration_id, user_id=user.id
            )
        except registration.RegistrationNotFound:
            ticket = None
    if ticket is None or ticket.status not in ("confirmed", "waiting"):
        await say(update, ctx, "sessions.errors.no_registration")
        return
    await show_ticket(update, ctx, ticket, again=True)
