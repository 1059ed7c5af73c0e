"""Members and dialogue sessions: /sessions, register in one tap, /mysessions, the deep link
`?start=s<ID>`, and the feedback button after a session (SPEC §3.2).

Buttons carry the session's version; one pressed after the session changed shows the new
details instead of acting on the old ones.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.error import Forbidden
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.runtime.context import HiwarContext, Services
from bot.runtime.replies import markup, say, send_html, show_flow_reply
from bot.services import session_feedback, session_registration, session_reminders
from bot.services.erasure import register_erasure_hook
from bot.services.flows import FlowRegistry
from bot.services.numbers import parse_integer
from bot.services.outbox import Button
from bot.services.session_calendar import calendar_file, calendar_filename, qr_png
from bot.services.session_registration import AlreadyRegistered, SessionStarted, Ticket
from bot.services.sessions import (
    CONFIRMED,
    FEEDBACK_TASK,
    REMINDER_TASK,
    SessionCancelled,
    SessionChanged,
    SessionNotFound,
    SessionView,
    get_session,
    session_variables,
    upcoming_for_member,
)
from bot.services.tasks import TaskRegistry
from handlers import deep_links
from handlers.consent import require_consent

logger = logging.getLogger(__name__)
PRIVATE = filters.ChatType.PRIVATE
PREFIX = "ses:"
ACTIONS = frozenset({"r", "p", "c", "x", "k", "t", "o"})

member_commands = (
    ("sessions", "sessions.commands.sessions"),
    ("mysessions", "sessions.commands.mysessions"),
)


def _variables(ctx: HiwarContext, view: SessionView) -> dict[str, Any]:
    return session_variables(view, ctx.language, ctx.services.catalogue)


def _label(ctx: HiwarContext, key: str, **variables: object) -> str:
    return ctx.services.catalogue.plain(ctx.language, key, **variables)


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def session_button(ctx: HiwarContext, view: SessionView, registered: bool) -> Button:
    title = _short(view.title(ctx.language))
    if registered:
        return Button(
            _label(ctx, "sessions.buttons.registered", title=title), f"{PREFIX}o:{view.id}"
        )
    key = "sessions.buttons.register" if view.seats_left else "sessions.buttons.waitlist"
    return Button(_label(ctx, key, title=title), f"{PREFIX}r:{view.id}:{view.version}")


async def show_page(update: Update, ctx: HiwarContext, page: int) -> None:
    user = update.effective_user
    assert user is not None
    services = ctx.services
    async with services.database.unit_of_work() as uow:
        listing = await upcoming_for_member(uow, user.id, services.clock.now(), page)
    if not listing.sessions:
        await say(update, ctx, "sessions.list.empty")
        return
    catalogue = services.catalogue
    items = [
        catalogue.render(ctx.language, "sessions.list.item", **_variables(ctx, view))
        for view in listing.sessions
    ]
    header = catalogue.render(
        ctx.language, "sessions.list.header", page=listing.page + 1, pages=listing.pages
    )
    rows = [
        [session_button(ctx, view, view.id in listing.registered)] for view in listing.sessions
    ]
    pager: list[Button] = []
    if listing.page > 0:
        pager.append(Button(_label(ctx, "sessions.buttons.previous"), f"{PREFIX}p:{page - 1}"))
    if listing.page + 1 < listing.pages:
        pager.append(Button(_label(ctx, "sessions.buttons.next"), f"{PREFIX}p:{page + 1}"))
    if pager:
        rows.append(pager)
    await send_html(update, ctx, "\n\n".join([header, *items]), markup(rows))


async def sessions_menu(update: Update, ctx: HiwarContext) -> None:
    await show_page(update, ctx, 0)


async def list_sessions(update: Update, ctx: HiwarContext) -> None:
    page = parse_integer(ctx.args[0]) if ctx.args else 1
    await show_page(update, ctx, max((page or 1) - 1, 0))


async def show_session(update: Update, ctx: HiwarContext, view: SessionView) -> None:
    user = update.effective_user
    assert user is not None
    async with ctx.services.database.unit_of_work() as uow:
        mine = [
            t
            for t in await session_registration.my_tickets(uow, user.id, ctx.services.clock.now())
            if t.session.id == view.id
        ]
    if mine:
        await show_ticket(update, ctx, mine[0])
        return
    await say(
        update,
        ctx,
        "sessions.card",
        buttons=[[session_button(ctx, view, False)]],
        **_variables(ctx, view),
    )


async def open_session_from_link(
    update: Update, ctx: HiwarContext, session_id: int | None
) -> None:
    """`?start=s<ID>` (a poster's QR code): the session with its register button."""
    if session_id is None:
        await show_page(update, ctx, 0)
        return
    async with ctx.services.database.unit_of_work() as uow:
        try:
            view = await get_session(uow, session_id)
        except SessionNotFound:
            view = None
    if view is None or view.status not in ("published", "cancelled"):
        await say(update, ctx, "sessions.errors.not_found")
    elif view.status == "cancelled":
        await say(update, ctx, "sessions.errors.cancelled", **_variables(ctx, view))
    elif view.starts_at <= ctx.services.clock.now():
        await say(update, ctx, "sessions.errors.started", **_variables(ctx, view))
    else:
        await show_session(update, ctx, view)


async def send_ticket_files(update: Update, ctx: HiwarContext, ticket: Ticket) -> None:
    chat = update.effective_chat
    if chat is None or ticket.status != CONFIRMED:
        return
    services = ctx.services
    caption = _label(ctx, "sessions.ticket.qr_caption", code=ticket.code)
    ics = calendar_file(ticket, ctx.language, services.settings.timezone, services.clock.now())
    try:
        await ctx.bot.send_photo(chat.id, qr_png(ticket.qr_text), caption=caption)
        await ctx.bot.send_document(
            chat.id,
            ics,
            filename=calendar_filename(ticket.session.id),
            caption=_label(ctx, "sessions.ticket.ics_caption"),
        )
    except Forbidden:
        logger.info("ticket not delivered: the member has blocked the bot")


async def show_ticket(update: Update, ctx: HiwarContext, ticket: Ticket) -> None:
    key = "sessions.ticket.confirmed" if ticket.status == CONFIRMED else "sessions.ticket.waiting"
    buttons = [
        [Button(_label(ctx, "sessions.buttons.cancel"), f"{PREFIX}c:{ticket.registration_id}")]
    ]
    await say(
        update,
        ctx,
        key,
        buttons=buttons,
        code=ticket.code,
        position=ticket.position,
        **_variables(ctx, ticket.session),
    )
    await send_ticket_files(update, ctx, ticket)


async def register_member(
    update: Update, ctx: HiwarContext, session_id: int, version: int
) -> None:
    user = update.effective_user
    assert user is not None
    if not await require_consent(update, ctx, resume=f"s{session_id}"):
        return
    services = ctx.services
    try:
        async with ctx.unit_of_work() as uow:
            ticket = await session_registration.register_for_session(
                uow,
                session_id=session_id,
                user_id=user.id,
                language=ctx.language,
                now=services.clock.now(),
                expected_version=version,
            )
            await uow.commit()
    except SessionNotFound:
        await say(update, ctx, "sessions.errors.not_found")
        return
    except SessionCancelled:
        await say(update, ctx, "sessions.errors.cancelled_short")
        return
    except SessionStarted:
        await say(update, ctx, "sessions.errors.started_short")
        return
    except SessionChanged as changed:
        await say(update, ctx, "sessions.errors.changed")
        await show_session(update, ctx, changed.view)
        return
    except AlreadyRegistered as already:
        await say(update, ctx, "sessions.errors.already")
        await show_ticket(update, ctx, already.ticket)
        return
    await show_ticket(update, ctx, ticket)


async def my_sessions(update: Update, ctx: HiwarContext) -> None:
    user = update.effective_user
    assert user is not None
    async with ctx.services.database.unit_of_work() as uow:
        tickets = await session_registration.my_tickets(uow, user.id, ctx.services.clock.now())
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
            **_variables(ctx, ticket.session),
        )
        for ticket in tickets
    ]
    rows = [
        [
            Button(
                _label(
                    ctx, "sessions.buttons.ticket", title=_short(t.session.title(ctx.language))
                ),
                f"{PREFIX}t:{t.registration_id}",
            ),
            Button(_label(ctx, "sessions.buttons.cancel"), f"{PREFIX}c:{t.registration_id}"),
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
            ticket = await session_registration.ticket_for(
                uow, registration_id=registration_id, user_id=user.id
            )
        except session_registration.RegistrationNotFound:
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
                    _label(ctx, "sessions.buttons.confirm_cancel"), f"{PREFIX}x:{registration_id}"
                ),
                Button(_label(ctx, "sessions.buttons.keep"), f"{PREFIX}k:{registration_id}"),
            ]
        ],
        **_variables(ctx, ticket.session),
    )


async def cancel_place(update: Update, ctx: HiwarContext, registration_id: int) -> None:
    user = update.effective_user
    assert user is not None
    services = ctx.services
    try:
        async with ctx.unit_of_work() as uow:
            ticket = await session_registration.cancel_registration(
                uow,
                services.catalogue,
                registration_id=registration_id,
                user_id=user.id,
                now=services.clock.now(),
            )
            await uow.commit()
    except session_registration.RegistrationNotFound:
        await say(update, ctx, "sessions.errors.no_registration")
        return
    await say(update, ctx, "sessions.mine.cancelled", **_variables(ctx, ticket.session))


async def resend_ticket(update: Update, ctx: HiwarContext, registration_id: int) -> None:
    user = update.effective_user
    assert user is not None
    async with ctx.services.database.unit_of_work() as uow:
        try:
            ticket = await session_registration.ticket_for(
                uow, registration_id=registration_id, user_id=user.id
            )
        except session_registration.RegistrationNotFound:
            ticket = None
    if ticket is None or ticket.status not in ("confirmed", "waiting"):
        await say(update, ctx, "sessions.errors.no_registration")
        return
    await show_ticket(update, ctx, ticket)


async def open_session(update: Update, ctx: HiwarContext, session_id: int) -> None:
    await open_session_from_link(update, ctx, session_id)


def _numbers(parts: list[str], count: int) -> list[int] | None:
    if len(parts) != count or not all(p.isdigit() and len(p) < 12 for p in parts):
        return None
    return [int(p) for p in parts]


async def on_button(update: Update, ctx: HiwarContext) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    action, *rest = (query.data or "").removeprefix(PREFIX).split(":")
    numbers = _numbers(rest, 2 if action == "r" else 1)
    if numbers is None or action not in ACTIONS:
        await say(update, ctx, "sessions.errors.bad_button")
        return
    if action == "r":
        await register_member(update, ctx, numbers[0], numbers[1])
    elif action == "p":
        await show_page(update, ctx, numbers[0])
    elif action == "c":
        await ask_cancel(update, ctx, numbers[0])
    elif action == "x":
        await cancel_place(update, ctx, numbers[0])
    elif action == "k":
        await say(update, ctx, "sessions.mine.kept")
    elif action == "t":
        await resend_ticket(update, ctx, numbers[0])
    else:
        await open_session(update, ctx, numbers[0])


async def on_feedback_button(update: Update, ctx: HiwarContext) -> None:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    await query.answer()
    session_id = parse_integer(
        (query.data or "").removeprefix(session_reminders.FEEDBACK_CALLBACK_PREFIX)
    )
    if session_id is None:
        await say(update, ctx, "sessions.errors.bad_button")
        return
    services = ctx.services
    try:
        async with ctx.unit_of_work() as uow:
            reply = await session_feedback.start_feedback(
                uow,
                services.flows,
                session_id=session_id,
                user_id=user.id,
                language=ctx.language,
                now=services.clock.now(),
            )
            await uow.commit()
    except (session_feedback.NotAttended, SessionNotFound):
        await say(update, ctx, "sessions.feedback.not_attended")
        return
    except session_feedback.FeedbackAlreadyGiven:
        await say(update, ctx, "sessions.feedback.already")
        return
    await show_flow_reply(update, ctx, reply)


def register_flows(registry: FlowRegistry, services: Services) -> None:
    registry.add(session_feedback.FeedbackFlow())


def register_tasks(registry: TaskRegistry, services: Services) -> None:
    catalogue = services.catalogue

    async def reminders(uow: Any, payload: dict[str, Any], now: Any) -> None:
        await session_reminders.send_reminders(uow, catalogue, payload, now)

    async def feedback(uow: Any, payload: dict[str, Any], now: Any) -> None:
        await session_reminders.invite_feedback(uow, catalogue, payload, now)

    async def promote(uow: Any, payload: dict[str, Any], now: Any) -> None:
        await session_registration.promote_from_task(
            uow, catalogue, int(payload["session_id"]), now
        )

    registry.register(REMINDER_TASK, reminders)
    registry.register(FEEDBACK_TASK, feedback)
    registry.register(session_registration.PROMOTE_TASK, promote)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("sessions", list_sessions, filters=PRIVATE))
    application.add_handler(CommandHandler("mysessions", my_sessions, filters=PRIVATE))
    application.add_handler(CallbackQueryHandler(on_button, pattern=f"^{PREFIX}"))
    application.add_handler(
        CallbackQueryHandler(
            on_feedback_button, pattern=f"^{session_reminders.FEEDBACK_CALLBACK_PREFIX}"
        )
    )
    deep_links.register_start_route("s", open_session_from_link)
    deep_links.register_menu_action("sessions", sessions_menu)
    register_erasure_hook(session_registration.erase_member_sessions)
