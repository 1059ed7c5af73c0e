"""The button on a grievance card: opens the case for the staff member who pressed it.

Cards carry no content (see `bot.services.grievance_notices`). The content is sent here,
as a direct reply to the staff member's private chat (never the staff group), only after
the role check of `staff_only` and the safeguarding check of the service, and every opening
is audited. Voice notes and photos are re-sent by their Telegram file id.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler

from admin.access import staff_only
from bot.runtime.context import HiwarContext
from bot.services.grievance_directory import category
from bot.services.grievance_notices import CASE_BUTTON_PREFIX
from bot.services.grievances import (
    CaseDetails,
    GrievanceNotFound,
    NotPermitted,
    case_details,
)
from bot.services.roles import Role
from messages import Catalogue

logger = logging.getLogger(__name__)

MESSAGE_CHUNK = 3500


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
        flags_label=", ".join(
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
                text=(entry.text or "")[:MESSAGE_CHUNK],
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
            await ctx.bot.send_message(user.id, text)
    except TelegramError:
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


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CallbackQueryHandler(open_case, pattern=f"^{CASE_BUTTON_PREFIX}"))
