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

from collections.abc import Awaitable, Callable
from datetime import datetime

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CommandHandler,
    MessageHandler,
    filters,
)

from admin.access import StaffCallback, staff_only
from admin.audit_log import show_case_audit
from admin.grievance_cards import remember_card
from admin.moderation import run_case_action, tell_done
from bot.engines.roles import Role
from bot.grievances.flow import GrievanceDesk
from bot.moderation import actions
from bot.moderation.actions import CaseOutcome
from bot.moderation.case_view import CaseCard, case_card
from bot.moderation.staff_names import remember_first_name, set_display_name, set_on_duty
from bot.runtime.context import HiwarContext
from bot.runtime.replies import markup, say, send_html
from storage.database import UnitOfWork

AUDIT_CASE_GROUP = -1  # before group 0, where /audit (admins) is handled
staff_commands = (
    ("case", "moderation.commands.case"),
    ("note", "moderation.commands.note"),
    ("close", "moderation.commands.close"),
    ("reject", "moderation.commands.reject"),
    ("duplicate", "moderation.commands.duplicate"),
    ("myname", "moderation.desk.commands.myname"),
    ("duty", "moderation.desk.commands.duty"),
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
    if card is None:
        return
    chat = update.effective_chat
    assert chat is not None
    chat_id, card_reference = chat.id, card.state.reference

    async def remember(message_id: int) -> None:
        await remember_card(ctx, card_reference, chat_id, message_id)

    await send_html(update, ctx, card.text, markup(card.buttons), on_sent=remember)


@staff_only(Role.MODERATOR)
async def myname_command(update: Update, ctx: HiwarContext) -> None:
    """`/myname Name`: the name colleagues see (`/myname -` goes back to the first name)."""
    user = update.effective_user
    assert user is not None
    first = ((update.effective_message.text if update.effective_message else "") or "").split()
    wanted = " ".join(first[1:]).strip()
    if not wanted:
        await say(update, ctx, "moderation.desk.name_usage")
        return
    async with ctx.unit_of_work() as uow:
        now = ctx.services.clock.now()
        await remember_first_name(uow, user.id, user.first_name, now)
        name = await set_display_name(uow, user.id, None if wanted == "-" else wanted, now)
        await uow.commit()
    if name is None:
        await say(update, ctx, "moderation.desk.name_cleared")
    else:
        await say(update, ctx, "moderation.desk.named", name=name)


@staff_only(Role.MODERATOR)
async def duty_command(update: Update, ctx: HiwarContext) -> None:
    """`/duty on|off`: whether urgent cases are also sent privately."""
    user = update.effective_user
    assert user is not None
    words = ((update.effective_message.text if update.effective_message else "") or "").split()
    choice = words[1].lower() if len(words) > 1 else ""
    if choice not in ("on", "off"):
        await say(update, ctx, "moderation.desk.duty_usage")
        return
    async with ctx.unit_of_work() as uow:
        await set_on_duty(uow, user.id, choice == "on", ctx.services.clock.now())
        await uow.commit()
    await say(update, ctx, f"moderation.desk.duty_{choice}")


# (uow, desk, reference, argument, actor id, now): the one service call of a case command.
CaseChange = Callable[[UnitOfWork, GrievanceDesk, str, str, int, datetime], Awaitable[CaseOutcome]]


def first_word(rest: str) -> str:
    return rest.split()[0] if rest else ""


def case_change_command(
    usage_key: str, change: CaseChange, argument_of: Callable[[str], str] = str.strip
) -> StaffCallback:
    """`/cmd REF argument`: usage without both, else `change` and what was done.

    `argument_of` picks the argument from the text after the reference (all of it by default).
    """

    @staff_only(Role.MODERATOR)
    async def command(update: Update, ctx: HiwarContext) -> None:
        user = update.effective_user
        assert user is not None
        reference, rest = split_command(update)
        argument = argument_of(rest)
        if reference is None or not argument:
            await say(update, ctx, usage_key)
            return

        async def act(uow: UnitOfWork, desk: GrievanceDesk, now: datetime) -> CaseOutcome:
            return await change(uow, desk, reference, argument, user.id, now)

        outcome = await run_case_action(update, ctx, act)
        if outcome is not None:
            await tell_done(update, ctx, outcome)

    return command


note_command = case_change_command("moderation.usage.note", actions.add_note)
close_command = case_change_command(
    "moderation.usage.close",
    lambda uow, desk, reference, reason, actor_id, now: actions.move_case(
        uow, desk, reference, "closed", actor_id, now, reason=reason
    ),
)
reject_command = case_change_command(
    "moderation.usage.reject",
    lambda uow, desk, reference, reason, actor_id, now: actions.reject_case(
        uow, desk, reference, "out_of_scope", actor_id, now, note=reason
    ),
)
duplicate_command = case_change_command(
    "moderation.usage.duplicate",
    lambda uow, desk, reference, main_reference, actor_id, now: actions.reject_case(
        uow, desk, reference, "duplicate", actor_id, now, main_reference=main_reference
    ),
    argument_of=first_word,
)


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
    application.add_handler(CommandHandler("myname", myname_command))
    application.add_handler(CommandHandler("duty", duty_command))
