"""`/reply GR-XXXX-XXXX text`, and replying to a card: a moderator answers the member of a case
(SPEC §4.1).

The reply is kept on the case and relayed to the member through the outbox, in the member's
language, without revealing either side's identity; if the member has blocked the bot, the
staff member is told it was not delivered. Audited by the service.

A staff message that *replies to* a case card (or to the bot's "reply to this message with
your note/reply" prompt) is relayed (or kept as a note) the same way. That handler sees only
replies to the bot's own messages carrying card or prompt buttons; the service re-reads the
sender's roles, so anyone else's reply is left alone, silently.
"""

from __future__ import annotations

from datetime import datetime

from telegram import Message, Update
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from admin.access import staff_only
from admin.moderation import run_case_action, tell_done
from bot.engines.roles import Role, may_act, roles_of
from bot.grievances.flow import GrievanceDesk
from bot.grievances.notices import CASE_BUTTON_PREFIX, card_reference_at
from bot.moderation import actions
from bot.moderation.actions import CaseOutcome
from bot.moderation.cards import PROMPT_CANCEL
from bot.runtime.context import HiwarContext
from bot.runtime.replies import say
from storage.database import UnitOfWork

staff_commands = (("reply", "grievances.commands.reply"),)


@staff_only(Role.MODERATOR)
async def reply_command(update: Update, ctx: HiwarContext) -> None:
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    parts = (message.text or "").split(maxsplit=2)
    if len(parts) < 3 or not parts[2].strip():
        await say(update, ctx, "grievances.staff.reply_usage")
        return
    reference, text = parts[1], parts[2].strip()

    async def relay(uow: UnitOfWork, desk: GrievanceDesk, now: datetime) -> CaseOutcome:
        return await actions.reply_to_member(uow, desk, reference, text, user.id, now)

    outcome = await run_case_action(update, ctx, relay)
    if outcome is None:
        return
    key = (
        "grievances.staff.reply_queued"
        if outcome.member_reachable
        else "grievances.staff.reply_kept"
    )
    await say(update, ctx, key, reference=outcome.state.reference)
    await tell_about_links(update, ctx, outcome)


async def tell_about_links(update: Update, ctx: HiwarContext, outcome: CaseOutcome) -> None:
    """Why the member's copy looks different: its links were made inert."""
    if outcome.links_defanged:
        await say(
            update,
            ctx,
            "grievances.staff.links_defanged",
            reference=outcome.state.reference,
            links=outcome.links_defanged,
        )


class _RepliesToCards(filters.MessageFilter):
    """A reply to one of our messages that carries a card or prompt button."""

    def filter(self, message: Message) -> bool:
        replied = message.reply_to_message
        if replied is None or replied.from_user is None or not replied.from_user.is_bot:
            return False
        markup = replied.reply_markup
        if markup is None:
            return False
        return any(
            isinstance(button.callback_data, str)
            and (
                button.callback_data.startswith(CASE_BUTTON_PREFIX)
                or button.callback_data == PROMPT_CANCEL
            )
            for row in markup.inline_keyboard
            for button in row
        )


REPLIES_TO_CARDS = _RepliesToCards()


async def reply_to_card(update: Update, ctx: HiwarContext) -> None:
    """Relay (or note) the text of a staff reply to a card; others' replies are ignored."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or message.reply_to_message is None:
        return
    text = (message.text or "").strip()
    async with ctx.services.database.unit_of_work(read_only=True) as uow:
        if not may_act(await roles_of(uow, user.id), {Role.MODERATOR}):
            return  # not staff: a group member chatting, not ours to answer
        target = await card_reference_at(uow, message.chat.id, message.reply_to_message.message_id)
    if target is None:
        await say(update, ctx, "moderation.card_unknown")
        return
    if not text:
        await say(update, ctx, "moderation.reply_text_only")
        return
    reference = target.reference

    async def act(uow: UnitOfWork, desk: GrievanceDesk, now: datetime) -> CaseOutcome:
        if target.kind == "note":
            return await actions.add_note(uow, desk, reference, text, user.id, now)
        if target.kind == "close":
            return await actions.move_case(
                uow, desk, reference, "closed", user.id, now, reason=text
            )
        return await actions.reply_to_member(uow, desk, reference, text, user.id, now)

    outcome = await run_case_action(update, ctx, act)
    if outcome is not None:
        await tell_done(update, ctx, outcome)
        await tell_about_links(update, ctx, outcome)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("reply", reply_command))
    application.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGE & ~filters.COMMAND & REPLIES_TO_CARDS, reply_to_card
        )
    )
