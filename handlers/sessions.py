"""Members and dialogue sessions: /sessions, register in one tap, /mysessions, the deep link
`?start=s<ID>`, and the feedback button after a session (SPEC §3.2).

Buttons carry the session's version; one pressed after the session changed shows the new
details instead of acting on the old ones.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.engines.flows import FlowRegistry
from bot.engines.numbers import parse_integer
from bot.engines.outbox import Button
from bot.engines.tasks import TaskRegistry
from bot.members.erasure import register_erasure_hook
from bot.runtime.context import HiwarContext, Services
from bot.runtime.replies import markup, say, send_html, show_flow_reply
from bot.sessions import feedback as session_feedback
from bot.sessions import registration
from bot.sessions import reminders as session_reminders
from bot.sessions.lifecycle import (
    FEEDBACK_TASK,
    REMINDER_TASK,
    SessionCancelled,
    SessionChanged,
    SessionNotFound,
    SessionView,
    get_session,
    upcoming_for_member,
)
from bot.sessions.registration import AlreadyRegistered, SessionStarted
from handlers import deep_links
from handlers.consent import require_consent
from handlers.session_tickets import (
    PREFIX,
    ask_cancel,
    button_label,
    cancel_place,
    my_sessions,
    resend_ticket,
    session_vars,
    shortened,
    show_ticket,
)

PRIVATE = filters.ChatType.PRIVATE
ACTIONS = frozenset({"r", "p", "c", "x", "k", "t", "o"})

member_commands = (
    ("sessions", "sessions.commands.sessions"),
    ("mysessions", "sessions.commands.mysessions"),
)


def session_button(ctx: HiwarContext, view: SessionView, registered: bool) -> Button:
    title = shortened(view.title(ctx.language))
    if registered:
        return Button(
            button_label(ctx, "sessions.buttons.registered", title=title), f"{PREFIX}o:{view.id}"
        )
    key = "sessions.buttons.register" if view.seats_left else "sessions.buttons.waitlist"
    return Button(button_label(ctx, key, title=title), f"{PREFIX}r:{view.id}:{view.version}")


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
        catalogue.render(ctx.language, "sessions.list.item", **session_vars(ctx, view))
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
        pager.append(
            Button(button_label(ctx, "sessions.buttons.previous"), f"{PREFIX}p:{page - 1}")
        )
    if listing.page + 1 < listing.pages:
        pager.append(Button(button_label(ctx, "sessions.buttons.next"), f"{PREFIX}p:{page + 1}"))
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
            for t in await registration.my_tickets(uow, user.id, ctx.services.clock.now())
            if t.session.id == view.id
        ]
    if mine:
        await show_ticket(update, ctx, mine[0], again=True)
        return
    await say(
        update,
        ctx,
        "sessions.card",
        buttons=[[session_button(ctx, view, False)]],
        **session_vars(ctx, view),
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
        await say(update, ctx, "sessions.errors.cancelled", **session_vars(ctx, view))
    elif view.starts_at <= ctx.services.clock.now():
        await say(update, ctx, "sessions.errors.started", **session_vars(ctx, view))
    else:
        await show_session(update, ctx, view)


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
            ticket = await registration.register_for_session(
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
        await show_ticket(update, ctx, already.ticket, again=True)
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
        await registration.promote_from_task(uow, catalogue, int(payload["session_id"]), now)

    registry.register(REMINDER_TASK, reminders)
    registry.register(FEEDBACK_TASK, feedback)
    registry.register(registration.PROMOTE_TASK, promote)


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
    register_erasure_hook(registration.erase_member_sessions)
