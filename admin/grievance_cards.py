"""The buttons of a grievance card: open the case, and act on it (SPEC §4.1).

"Open the case" sends the content privately (below). The action buttons (assign to me,
acknowledge, priority, status, note, reply, escalate) carry the case version the card showed;
the services refuse a press on an out-of-date card and the moderator sees the current state.
Note and reply ask for the text with a message the moderator answers by replying to it.

Cards carry no content (see `bot.grievances.notices`). The content is sent here,
as a direct reply to the staff member's private chat (never the staff group), only after
the role check of `staff_only` and the safeguarding check of the service, and every opening
is audited. Voice notes and photos are re-sent by their Telegram file id.
"""

from __future__ import annotations

import logging
from datetime import datetime

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, CallbackQueryHandler

from admin.access import staff_only
from admin.moderation import CaseService, run_case_action, state_variables, tell_done
from bot.engines.roles import Role
from bot.grievances.cases import (
    CaseDetails,
    GrievanceNotFound,
    NotPermitted,
    case_details,
)
from bot.grievances.directory import category
from bot.grievances.flow import GrievanceDesk
from bot.grievances.notices import CASE_BUTTON_PREFIX, queue_prompt
from bot.moderation import actions
from bot.moderation.actions import CaseOutcome, CaseState
from bot.moderation.cards import (
    PROMPT_CANCEL,
    CardPress,
    parse_press,
    priority_buttons,
    status_buttons,
)
from bot.moderation.case_view import case_card, remember_sent_card
from bot.runtime.context import HiwarContext
from bot.runtime.long_messages import send_in_pieces
from bot.runtime.replies import markup, say
from handlers.fallback import stale_button
from handlers.grievances import desk_of
from messages import Catalogue
from storage.database import UnitOfWork

logger = logging.getLogger(__name__)

MESSAGE_CHUNK = 3500
# Buttons that ask for a text, answered by replying to the prompt: the prompt's message key.
PROMPTED = {
    "note": "moderation.prompt.note",
    "reply": "moderation.prompt.reply",
    "close": "moderation.desk.prompt_close",
}


def chunks(text: str, size: int = MESSAGE_CHUNK) -> list[str]:
    return [text[start : start + size] for start in range(0, len(text), size)] or [""]


def case_messages(catalogue: Catalogue, language: str, case: CaseDetails) -> list[str]:
    """The case as messages: a header, the description in pieces, then the history."""
    header = catalogue.render(
        language,
        "grievances.case.header",
        reference=case.reference,
        category_label=category(case.category).labels.get(language, case.category),
        governorate_label=catalogue.plain(language, f"governorate.{case.governorate}"),
        area=case.area or "",
        urgency_label=catalogue.plain(language, f"grievances.urgency.{case.urgency}"),
        status_label=catalogue.plain(language, f"grievances.status.{case.status}"),
        flags_label=catalogue.list_separator(language).join(
            catalogue.plain(language, f"grievances.risk.{flag}") for flag in case.risk_flags
        ),
        created_at=case.created_at,
        ack_due_at=case.ack_due_at,
        contactable=case.contactable,
        contact=case.contact_details or "",
        reporter_id=case.reporter_user_id or 0,
        media=len(case.media),
    )
    pieces = chunks(case.description)
    messages = [header]
    for number, piece in enumerate(pieces, start=1):
        messages.append(
            catalogue.render(
                language,
                "grievances.case.description",
                text=piece,
                part=number,
                parts=len(pieces),
            )
        )
    for entry in case.entries:
        messages.append(
            catalogue.render(
                language,
                "grievances.case.entry",
                kind_label=catalogue.plain(language, f"grievances.entry.{entry.kind}"),
                at=entry.created_at,
                text=entry.text or "",  # whole: a long one is sent in pieces
                media=len(entry.media),
            )
        )
    return messages


@staff_only(Role.MODERATOR)
async def open_case(update: Update, ctx: HiwarContext) -> None:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    reference = (query.data or "")[len(CASE_BUTTON_PREFIX) :]
    catalogue, language = ctx.services.catalogue, ctx.language
    try:
        async with ctx.unit_of_work() as uow:
            case = await case_details(uow, reference, user.id, ctx.services.clock.now())
            await uow.commit()
    except GrievanceNotFound:
        await query.answer(catalogue.plain(language, "grievances.staff.not_found"))
        return
    except NotPermitted:
        await query.answer(catalogue.plain(language, "grievances.staff.safeguarding_only"))
        return
    await query.answer()
    try:
        for text in case_messages(catalogue, language, case):
            # However long a piece is (emoji count twice), all of it arrives: in parts.
            await send_in_pieces(ctx.bot, user.id, text, catalogue=catalogue, language=language)
    except Forbidden:
        # Never fall back to the group: the content is for this staff member only.
        logger.info("case details not delivered: no private chat with the staff member")
        return
    media = [*case.media, *(item for entry in case.entries for item in entry.media)]
    for kind, file_id in media:
        try:
            if kind == "voice":
                await ctx.bot.send_voice(user.id, file_id)
            else:
                await ctx.bot.send_photo(user.id, file_id)
        except TelegramError:
            logger.warning("a %s of a case could not be re-sent", kind)
    await send_live_card(ctx, user.id, user.id, case.reference)


async def send_live_card(ctx: HiwarContext, viewer_id: int, chat_id: int, reference: str) -> None:
    """The case's card with all its actions, sent to `chat_id` and kept true from then on
    (the same card as /case; issue 18: "Open the case" in private has the same actions)."""
    language = ctx.language
    desk = desk_of(ctx.services)
    try:
        async with ctx.services.database.unit_of_work() as uow:
            card = await case_card(
                uow, desk, reference, viewer_id, language, ctx.services.clock.now()
            )
            await uow.commit()
    except (GrievanceNotFound, NotPermitted, actions.NotStaff):
        return
    try:
        message = await ctx.bot.send_message(
            chat_id,
            card.text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup(card.buttons),
            disable_web_page_preview=True,
        )
    except TelegramError:
        logger.info("a case card could not be sent privately")
        return
    await remember_card(ctx, reference, chat_id, message.message_id)


async def remember_card(ctx: HiwarContext, reference: str, chat_id: int, message_id: int) -> None:
    async with ctx.services.database.unit_of_work() as uow:
        await remember_sent_card(
            uow, reference, chat_id, message_id, ctx.language, ctx.services.clock.now()
        )
        await uow.commit()


def _action(press: CardPress, actor: int) -> CaseService[CaseOutcome]:
    version = press.version

    async def run(uow: UnitOfWork, desk: GrievanceDesk, now: datetime) -> CaseOutcome:
        ref = press.reference
        if press.verb == "assign":
            return await actions.assign_case(uow, desk, ref, actor, now, expected_version=version)
        if press.verb == "set_priority":
            return await actions.set_priority(
                uow, desk, ref, int(press.value), actor, now, expected_version=version
            )
        status = {"ack": "acknowledged", "esc": "escalated"}.get(press.verb, press.value)
        return await actions.move_case(
            uow, desk, ref, status, actor, now, expected_version=version
        )

    return run


def _question(
    press: CardPress, actor: int, chat_id: int, nonce: str, language: str
) -> CaseService[CaseState]:
    """Check access and version; for note and reply, queue the prompt to answer."""

    async def run(uow: UnitOfWork, desk: GrievanceDesk, now: datetime) -> CaseState:
        grievance = await actions.open_case_for(uow, press.reference, actor, press.version)
        if press.verb in PROMPTED:
            catalogue = desk.catalogue
            await queue_prompt(
                uow,
                chat_id=chat_id,
                kind=press.verb,
                reference=grievance.reference,
                text=catalogue.render(
                    language, PROMPTED[press.verb], reference=grievance.reference
                ),
                cancel_label=catalogue.plain(language, "moderation.prompt.cancel"),
                now=now,
                nonce=nonce,
            )
        return await actions.state_of(uow, grievance)

    return run


async def _ask(update: Update, ctx: HiwarContext, press: CardPress, user_id: int) -> None:
    """Priority and status menus, and the note/reply prompts."""
    query = update.callback_query
    assert query is not None and query.message is not None
    catalogue, language = ctx.services.catalogue, ctx.language
    question = _question(press, user_id, query.message.chat.id, f"{user_id}:{query.id}", language)
    state = await run_case_action(update, ctx, question)
    if state is None:
        return
    if press.verb in PROMPTED:
        await query.answer(catalogue.plain(language, "moderation.prompt.sent"))
        return
    await query.answer()
    if press.verb == "pri":
        buttons = priority_buttons(catalogue, language, state.reference, state.version)
        await say(
            update, ctx, "moderation.choose_priority", buttons=buttons, reference=state.reference
        )
        return
    buttons = status_buttons(
        catalogue, language, state.reference, state.version, state.next_statuses
    )
    key = "moderation.choose_status" if buttons else "moderation.no_status_button"
    await say(update, ctx, key, buttons=buttons or None, reference=state.reference)


@staff_only(Role.MODERATOR)
async def card_action(update: Update, ctx: HiwarContext) -> None:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    press = parse_press(query.data or "")
    if press is None or query.message is None:
        await stale_button(update, ctx)
        return
    if press.verb in ("pri", "st", *PROMPTED):
        await _ask(update, ctx, press, user.id)
        return
    outcome = await run_case_action(update, ctx, _action(press, user.id))
    if outcome is None:
        return
    await tell_done(update, ctx, outcome)
    if press.verb in ("set_priority", "set_status"):
        # The picker has done its work: it says what was chosen and offers nothing more.
        variables = state_variables(ctx, outcome.state)
        key = f"moderation.done.{outcome.action}"
        try:
            await query.edit_message_text(
                ctx.services.catalogue.render(ctx.language, key, **variables),
                parse_mode=ParseMode.HTML,
            )
        except TelegramError:
            logger.info("a picker could not be closed")


@staff_only(Role.MODERATOR)
async def cancel_prompt(update: Update, ctx: HiwarContext) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer(ctx.services.catalogue.plain(ctx.language, "moderation.prompt.cancelled"))
    if query.message is not None:
        try:
            await ctx.bot.delete_message(query.message.chat.id, query.message.message_id)
        except TelegramError:
            logger.info("a prompt could not be deleted")


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CallbackQueryHandler(open_case, pattern=f"^{CASE_BUTTON_PREFIX}"))
    application.add_handler(CallbackQueryHandler(card_action, pattern="^gr:(act|pri|st):"))
    application.add_handler(CallbackQueryHandler(cancel_prompt, pattern=f"^{PROMPT_CANCEL}$"))
