"""Organisers and sessions: /newsession, /sessions_admin (edit, publish, cancel), /checkin,
/attendees (list, CSV, XLSX, participation counts) and /feedback (SPEC §4.2).

Every command and button goes through `staff_only(Role.ORGANISER)` (admins pass too), and
every action is audited by the service it calls. Buttons carry the session version, so a
button pressed after someone else changed the session acts on nothing.
"""

from __future__ import annotations

import asyncio
import functools
from datetime import datetime
from typing import Any

from markupsafe import Markup
from telegram import Document, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from admin.access import StaffCallback, staff_only
from bot.engines import flows, posters, qr
from bot.engines.disclosure import wording
from bot.engines.flows import FlowRegistry
from bot.engines.numbers import parse_integer
from bot.engines.outbox import Button
from bot.engines.roles import Role, may_act, roles_of
from bot.engines.share_links import SESSION, parse_target, start_url
from bot.runtime.context import HiwarContext, Services
from bot.runtime.replies import remove_buttons, say, send_file, send_file_reply, show_flow_reply
from bot.sessions import checkin as session_checkin
from bot.sessions import exports, organising
from bot.sessions import posters as session_posters
from bot.sessions.authoring import EDIT_FLOW, NEW_FLOW, EditSessionFlow, NewSessionFlow
from bot.sessions.feedback import feedback_summary
from bot.sessions.lifecycle import (
    DRAFT,
    NotADraft,
    SessionCancelled,
    SessionChanged,
    SessionNotFound,
    SessionView,
    get_session,
    session_variables,
)
from bot.sessions.organiser_input import InvalidSessionInput
from bot.surveys import posters as survey_posters
from bot.surveys.lifecycle import SurveyNotFound
from handlers import flow_input

PREFIX = "sadm:"
MAX_LISTED_CODES = 60
MAX_PHOTO_BYTES = 20_000_000

staff_commands = (
    ("newsession", "sessions.commands.newsession"),
    ("sessions_admin", "sessions.commands.sessions_admin"),
    ("checkin", "sessions.commands.checkin"),
    ("attendees", "sessions.commands.attendees"),
    ("feedback", "sessions.commands.feedback"),
    ("poster", "sessions.commands.poster"),
)


def organisers(callback: StaffCallback) -> Any:
    """`staff_only(Role.ORGANISER)`, as a coroutine function python-telegram-bot accepts."""
    guarded = staff_only(Role.ORGANISER)(callback)

    @functools.wraps(guarded)
    async def run(update: Update, ctx: HiwarContext) -> None:
        await guarded(update, ctx)

    return run


def _vars(ctx: HiwarContext, view: SessionView) -> dict[str, Any]:
    return session_variables(view, ctx.language, ctx.services.catalogue)


def _session_link(ctx: HiwarContext, session_id: int) -> str:
    return start_url(ctx.bot.username, f"{SESSION}{session_id}")


def _label(ctx: HiwarContext, key: str) -> str:
    return ctx.services.catalogue.plain(ctx.language, key)


def _actor(update: Update) -> int:
    assert update.effective_user is not None
    return update.effective_user.id


def _now(ctx: HiwarContext) -> datetime:
    return ctx.services.clock.now()


async def new_session(update: Update, ctx: HiwarContext) -> None:
    async with ctx.unit_of_work() as uow:
        reply = await flows.start_flow(
            uow, ctx.services.flows, _actor(update), NEW_FLOW, _now(ctx)
        )
        await uow.commit()
    await show_flow_reply(update, ctx, reply)


async def list_for_staff(update: Update, ctx: HiwarContext) -> None:
    async with ctx.services.database.unit_of_work() as uow:
        views = await organising.sessions_for_staff(uow, _now(ctx))
    if not views:
        await say(update, ctx, "sessions.admin.none")
        return
    for view in views:
        rows = [
            [
                Button(_label(ctx, "sessions.admin.edit"), f"{PREFIX}e:{view.id}:{view.version}"),
                Button(
                    _label(ctx, "sessions.admin.cancel"), f"{PREFIX}c:{view.id}:{view.version}"
                ),
            ],
            [Button(_label(ctx, "sessions.admin.attendees"), f"{PREFIX}a:{view.id}:0")],
        ]
        if view.status == DRAFT:
            rows.insert(
                0,
                [
                    Button(
                        _label(ctx, "sessions.admin.publish"),
                        f"{PREFIX}p:{view.id}:{view.version}",
                    )
                ],
            )
        await say(
            update,
            ctx,
            "sessions.admin.card",
            buttons=rows,
            status=view.status,
            link=_session_link(ctx, view.id),
            **_vars(ctx, view),
        )


async def _current(ctx: HiwarContext, session_id: int) -> SessionView | None:
    async with ctx.services.database.unit_of_work() as uow:
        try:
            return await get_session(uow, session_id)
        except SessionNotFound:
            return None


async def start_edit(update: Update, ctx: HiwarContext, session_id: int, version: int) -> None:
    view = await _current(ctx, session_id)
    if view is None or view.status == "cancelled":
        await say(update, ctx, "sessions.admin.already_cancelled")
        return
    if view.version != version:
        await say(update, ctx, "sessions.admin.changed_meanwhile")
        return
    data = {
        "session_id": view.id,
        "version": view.version,
        "title": view.title(ctx.language),
        "starts_at": view.starts_at.isoformat(),
        "ends_at": view.ends_at.isoformat(),
        "venue": view.venue,
    }
    async with ctx.unit_of_work() as uow:
        reply = await flows.start_flow(
            uow, ctx.services.flows, _actor(update), EDIT_FLOW, _now(ctx), data
        )
        await uow.commit()
    await show_flow_reply(update, ctx, reply)


async def publish(update: Update, ctx: HiwarContext, session_id: int, version: int) -> None:
    try:
        async with ctx.unit_of_work() as uow:
            view = await organising.publish_session(
                uow, session_id, actor_id=_actor(update), now=_now(ctx), expected_version=version
            )
            await uow.commit()
    except (SessionNotFound, NotADraft, SessionChanged):
        await say(update, ctx, "sessions.admin.changed_meanwhile")
        return
    except InvalidSessionInput as error:
        await say(update, ctx, f"sessions.invalid.{error.reason}")
        return
    await say(
        update,
        ctx,
        "sessions.admin.published",
        link=_session_link(ctx, view.id),
        **_vars(ctx, view),
    )


async def ask_cancel(update: Update, ctx: HiwarContext, session_id: int, version: int) -> None:
    view = await _current(ctx, session_id)
    if view is None or view.status == "cancelled":
        await say(update, ctx, "sessions.admin.already_cancelled")
        return
    if view.version != version:
        await say(update, ctx, "sessions.admin.changed_meanwhile")
        return
    yes = Button(_label(ctx, "sessions.admin.confirm_cancel"), f"{PREFIX}y:{view.id}:{version}")
    no = Button(_label(ctx, "sessions.admin.keep_session"), f"{PREFIX}n:{view.id}:{version}")
    await say(update, ctx, "sessions.admin.ask_cancel", buttons=[[yes], [no]], **_vars(ctx, view))


async def keep_session(update: Update, ctx: HiwarContext, session_id: int, version: int) -> None:
    """The organiser said No to cancelling: the question goes, nothing changes."""
    query = update.callback_query
    if query is not None and query.message is not None:
        await remove_buttons(ctx, query.message.chat.id, query.message.message_id)
    await say(update, ctx, "sessions.admin.kept")


async def cancel(update: Update, ctx: HiwarContext, session_id: int, version: int) -> None:
    try:
        async with ctx.unit_of_work() as uow:
            outcome = await organising.cancel_session(
                uow,
                ctx.services.catalogue,
                session_id,
                expected_version=version,
                actor_id=_actor(update),
                now=_now(ctx),
            )
            await uow.commit()
    except (SessionNotFound, SessionCancelled):
        await say(update, ctx, "sessions.admin.already_cancelled")
        return
    except SessionChanged:
        await say(update, ctx, "sessions.admin.changed_meanwhile")
        return
    await say(
        update, ctx, "sessions.admin.cancelled", told=outcome.told, **_vars(ctx, outcome.view)
    )


def _session_id_argument(ctx: HiwarContext) -> int | None:
    if not ctx.args or len(ctx.args) != 1:
        return None
    value = parse_integer(ctx.args[0].removeprefix("#"))
    return value if value is not None and 0 < value < 10**12 else None


async def send_attendees(update: Update, ctx: HiwarContext, session_id: int) -> None:
    catalogue, language = ctx.services.catalogue, ctx.language
    try:
        async with ctx.unit_of_work() as uow:
            report = await exports.attendees_report(
                uow, session_id, actor_id=_actor(update), now=_now(ctx)
            )
            await uow.commit()
    except SessionNotFound:
        await say(update, ctx, "sessions.errors.not_found")
        return
    words = wording(catalogue, language)
    confirmed = [r for r in report.rows if r.status == "confirmed"]
    waiting = [r for r in report.rows if r.status == "waiting"]
    counts = [
        catalogue.render(
            language,
            "sessions.attendees.count_line",
            dimension=catalogue.plain(language, f"sessions.export.dimension_{c.dimension}"),
            value=exports.value_label(catalogue, language, c.dimension, c.value),
            registered=words.of(c.registered),
            attended=words.of(c.attended),
        )
        for c in report.counts
    ]
    await say(
        update,
        ctx,
        "sessions.attendees.summary",
        attended=report.attended,
        confirmed_codes=", ".join(
            f"{r.code}{' ✓' if r.checked_in_at else ''}" for r in confirmed[:MAX_LISTED_CODES]
        ),
        waiting_codes=", ".join(r.code for r in waiting[:MAX_LISTED_CODES]),
        more=max(len(report.rows) - 2 * MAX_LISTED_CODES, 0),
        # Each line is rendered (escaped) already: join as markup so it is not escaped twice.
        counts=Markup("\n").join(Markup(line) for line in counts),  # noqa: S704
        **_vars(ctx, report.session),
    )
    chat = update.effective_chat
    assert chat is not None
    name = f"session-{session_id}-attendees"
    await send_file(
        ctx, chat.id, "document", f"{name}.csv", exports.attendees_csv(report, catalogue, language)
    )
    await send_file(
        ctx,
        chat.id,
        "document",
        f"{name}.xlsx",
        exports.attendees_xlsx(report, catalogue, language, words),
    )


async def attendees(update: Update, ctx: HiwarContext) -> None:
    session_id = _session_id_argument(ctx)
    if session_id is None:
        await say(update, ctx, "sessions.attendees.usage")
        return
    await send_attendees(update, ctx, session_id)


async def feedback(update: Update, ctx: HiwarContext) -> None:
    session_id = _session_id_argument(ctx)
    if session_id is None:
        await say(update, ctx, "sessions.feedback.usage")
        return
    async with ctx.services.database.unit_of_work() as uow:
        try:
            summary = await feedback_summary(uow, session_id)
            view = await get_session(uow, session_id)
        except SessionNotFound:
            await say(update, ctx, "sessions.errors.not_found")
            return
    await say(
        update,
        ctx,
        "sessions.feedback.summary",
        responses=summary.responses,
        average=summary.average,
        join_again=summary.join_again,
        not_again=summary.not_again,
        most_useful="\n".join(f"• {text}" for text in summary.most_useful[:30]),
        **_vars(ctx, view),
    )


async def check_in(update: Update, ctx: HiwarContext) -> None:
    text = " ".join(ctx.args or [])
    if not text.strip():
        await say(update, ctx, "sessions.checkin.usage")
        return
    await _check_in_text(update, ctx, text)


async def door_photo(update: Update, ctx: HiwarContext) -> bool:
    """An organiser's photo sent outside any flow: the QR of a ticket is read and checked in.
    Anyone else's photo is left to the next handler (members see the usual hint)."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or not (message.photo or _is_image(message.document)):
        return False
    async with ctx.services.database.unit_of_work() as uow:
        if not may_act(await roles_of(uow, user.id), {Role.ORGANISER}):
            return False
    file_id = message.photo[-1].file_id if message.photo else message.document.file_id  # type: ignore[union-attr]
    telegram_file = await ctx.bot.get_file(file_id)
    if (telegram_file.file_size or 0) > MAX_PHOTO_BYTES:
        await say(update, ctx, "sessions.door.no_qr")
        return True
    image = bytes(await telegram_file.download_as_bytearray())
    texts = await asyncio.to_thread(qr.read_qr, image)
    if not texts:
        await say(update, ctx, "sessions.door.no_qr")
        return True
    await _check_in_text(update, ctx, texts[0][:64])
    return True


def _is_image(document: Document | None) -> bool:
    return document is not None and (document.mime_type or "").startswith("image/")


async def _check_in_text(update: Update, ctx: HiwarContext, text: str) -> None:
    try:
        async with ctx.unit_of_work() as uow:
            ticket = await session_checkin.check_in(
                uow, text=text, actor_id=_actor(update), now=_now(ctx)
            )
            await uow.commit()
    except session_checkin.CodeNotFound:
        await say(update, ctx, "sessions.checkin.not_found", code=text[:40])
        return
    except session_checkin.AmbiguousCode:
        await say(update, ctx, "sessions.checkin.ambiguous", code=text[:40])
        return
    except session_checkin.NotConfirmed as refused:
        await say(
            update,
            ctx,
            "sessions.checkin.not_confirmed",
            code=refused.ticket.code,
            **_vars(ctx, refused.ticket.session),
        )
        return
    await say(
        update,
        ctx,
        "sessions.checkin.done",
        code=ticket.code,
        checked_in_at=ticket.checked_in_at,
        **_vars(ctx, ticket.session),
    )


async def on_button(update: Update, ctx: HiwarContext) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    parts = (query.data or "").removeprefix(PREFIX).split(":")
    if len(parts) != 3 or not all(p.isdigit() and len(p) < 12 for p in parts[1:]):
        await say(update, ctx, "sessions.errors.bad_button")
        return
    action, session_id, version = parts[0], int(parts[1]), int(parts[2])
    actions: dict[str, Any] = {
        "e": start_edit,
        "p": publish,
        "c": ask_cancel,
        "y": cancel,
        "n": keep_session,
    }
    if action == "a":
        await send_attendees(update, ctx, session_id)
    elif action in actions:
        await actions[action](update, ctx, session_id, version)
    else:
        await say(update, ctx, "sessions.errors.bad_button")


async def poster(update: Update, ctx: HiwarContext) -> None:
    """`/poster s12` or `/poster v7`: a printable A4 poster with the QR code of the link."""
    target = parse_target(" ".join(ctx.args or []))
    if target is None:
        await say(update, ctx, "posters.usage")
        return
    link = start_url(ctx.bot.username, target.payload)
    try:
        async with ctx.unit_of_work() as uow:
            if target.kind == SESSION:
                made = await session_posters.session_poster(
                    uow,
                    ctx.services.catalogue,
                    target.id,
                    url=link,
                    actor_id=_actor(update),
                    now=_now(ctx),
                )
            else:
                made = await survey_posters.survey_poster(
                    uow,
                    ctx.services.catalogue,
                    target.id,
                    url=link,
                    actor_id=_actor(update),
                    now=_now(ctx),
                )
            await uow.commit()
    except (SessionNotFound, SurveyNotFound):
        await say(update, ctx, "posters.not_found", payload=target.payload)
        return
    except (session_posters.NotShareable, survey_posters.NotShareable):
        await say(update, ctx, "posters.not_shareable", payload=target.payload)
        return
    png = await asyncio.to_thread(posters.poster_png, made)
    caption = ctx.services.catalogue.render(
        ctx.language, "posters.caption", payload=target.payload, link=link
    )
    await send_file_reply(
        update, ctx, "document", f"poster-{target.payload}.png", png, caption=caption
    )


def register_flows(registry: FlowRegistry, services: Services) -> None:
    timezone, clock = services.settings.timezone, services.clock
    registry.add(NewSessionFlow(timezone, clock.now, services.catalogue))
    registry.add(EditSessionFlow(timezone, clock.now, services.catalogue))


def register(application: Application) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    for name, callback in (
        ("newsession", new_session),
        ("sessions_admin", list_for_staff),
        ("mysessions_admin", list_for_staff),
        ("checkin", check_in),
        ("attendees", attendees),
        ("feedback", feedback),
        ("poster", poster),
    ):
        application.add_handler(CommandHandler(name, organisers(callback), filters=private))
    application.add_handler(CallbackQueryHandler(organisers(on_button), pattern=f"^{PREFIX}"))
    flow_input.on_media_without_flow(door_photo)
