"""Case commands for moderators (SPEC §4.1): /case, /note, /close, /reject, /duplicate.

- `/case GR-…` shows the live card with its buttons;
- `/note GR-… text` keeps a staff-only note;
- `/close GR-… reason` closes (refused without a reason; the member is told);
- `/reject GR-… reason` rejects as out of scope; `/duplicate GR-A GR-MAIN` rejects A as a
  duplicate linked to the main case;
- `/audit GR-…` shows the case's audit trail to moderators. The rest of /audit stays
  admin-only (`admin.audit_log`), so this route is a message handler that runs first, and
  the service re-reads the roles (non-staff get the unknown-command answer).

Thin handlers: parse, one service call through `run_case_action`, one catalogue message.
"""

from __future__ import annotations

from datetime import datetime

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CommandHandler,
    MessageHandler,
    filters,
)

from admin.access import staff_only
from admin.audit_log import show_case_audit
from admin.moderation import run_case_action, tell_done
from bot.runtime.context import HiwarContext
from bot.runtime.replies import markup, say, send_html
from bot.services import moderation
from bot.services.case_view import CaseCard, case_card
from bot.services.grievance_flow import GrievanceDesk
from bot.services.moderation import CaseOutcome
from bot.services.roles import Role
from storage.database import UnitOfWork

AUDIT_CASE_GROUP = -1  # before group 0, where /audit (admins) is handled
staff_commands = (
    ("case", "moderation.commands.case"),
    ("note", "moderation.commands.note"),
    ("close", "moderation.commands.close"),
    ("reject", "moderation.commands.reject"),
    ("duplicate", "moderation.commands.duplicate"),
)


def split_command(update: Update) -> tuple[str | None, str]:
    """`/cmd REF rest of text` → (REF, rest); REF is None when missing."""
    message = update.effective_message
    parts = ((message.text if message else None) or "").split(maxsplit=2)
    reference = parts[1] if len(parts) > 1 else None
    rest = parts[2].strip() if len(parts) > 2 else ""
    return reference, rest


@staff_only(Role.MODERATOR)
async def case_command(update: Update, ctx: HiwarContext) -> None:
    user = update.effective_user
    assert user is not None
    reference, _ = split_command(update)
    if reference is None:
        await say(update, ctx, "moderation.usage.case")
        return
    language = ctx.language

    async def view(uow: UnitOfWork, desk: GrievanceDesk, now: datetime) -> CaseCard:
        return await case_card(uow, desk, reference, user.id, language, now)

    card = await run_case_action(update, ctx, view)
    if card is not None:
        await send_html(update, ctx, card.text, markup(card.buttons))


@staff_only(Role.MODERATOR)
async def note_command(update: Update, ctx: HiwarContext) -> None:
    user = update.effective_user
    assert user is not None
    reference, text = split_command(update)
    if reference is None or not text:
        await say(update, ctx, "moderation.usage.note")
        return

    async def note(uow: UnitOfWork, desk: GrievanceDesk, now: datetime) -> CaseOutcome:
        return await moderation.add_note(uow, desk, reference, text, user.id, now)

    outcome = await run_case_action(update, ctx, note)
    if outcome is not None:
        await tell_done(update, ctx, outcome)


@staff_only(Role.MODERATOR)
async def close_command(update: Update, ctx: HiwarContext) -> None:
    user = update.effective_user
    assert user is not None
    reference, reason = split_command(update)
    if reference is None or not reason:
        await say(update, ctx, "moderation.usage.close")
        return

    async def close(uow: UnitOfWork, desk: GrievanceDesk, now: datetime) -> CaseOutcome:
        return await moderation.move_case(
            uow, desk, reference, "closed", user.id, now, reason=reason
        )

    outcome = await run_case_action(update, ctx, close)
    if outcome is not None:
        await tell_done(update, ctx, outcome)


@staff_only(Role.MODERATOR)
async def reject_command(update: Update, ctx: HiwarContext) -> None:
    user = update.effective_user
    assert user is not None
    reference, reason = split_command(update)
    if reference is None or not reason:
        await say(update, ctx, "moderation.usage.reject")
        return

    async def reject(uow: UnitOfWork, desk: GrievanceDesk, now: datetime) -> CaseOutcome:
        return await moderation.reject_case(
            uow, desk, reference, "out_of_scope", user.id, now, note=reason
        )

    outcome = await run_case_action(update, ctx, reject)
    if outcome is not None:
        await tell_done(update, ctx, outcome)


@staff_only(Role.MODERATOR)
async def duplicate_command(update: Update, ctx: HiwarContext) -> None:
    user = update.effective_user
    assert user is not None
    reference, rest = split_command(update)
    main_reference = rest.split()[0] if rest else None
    if reference is None or main_reference is None:
        await say(update, ctx, "moderation.usage.duplicate")
        return

    async def duplicate(uow: UnitOfWork, desk: GrievanceDesk, now: datetime) -> CaseOutcome:
        return await moderation.reject_case(
            uow, desk, reference, "duplicate", user.id, now, main_reference=main_reference
        )

    outcome = await run_case_action(update, ctx, duplicate)
    if outcome is not None:
        await tell_done(update, ctx, outcome)


AUDIT_CASE = filters.Regex(r"(?i)^/audit(@\w+)?\s+GR-")


async def audit_case_command(update: Update, ctx: HiwarContext) -> None:
    reference, _ = split_command(update)
    if reference is not None:
        await show_case_audit(update, ctx, reference)
    raise ApplicationHandlerStop


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & AUDIT_CASE, audit_case_command),
        group=AUDIT_CASE_GROUP,
    )
    application.add_handler(CommandHandler("case", case_command))
    application.add_handler(CommandHandler("note", note_command))
    application.add_handler(CommandHandler("close", close_command))
    application.add_handler(CommandHandler("reject", reject_command))
    application.add_handler(CommandHandler("duplicate", duplicate_command))
