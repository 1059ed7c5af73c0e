"""`/reply GR-XXXX-XXXX text`: a moderator answers the member of a case (SPEC §4.1).

The reply is kept on the case and relayed to the member through the outbox, in the member's
language, without revealing either side's identity. Audited by the service.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler

from admin.access import staff_only
from bot.runtime.context import HiwarContext
from bot.runtime.replies import say
from bot.services.grievances import GrievanceNotFound, NotPermitted, relay_staff_reply
from bot.services.roles import Role

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
    try:
        async with ctx.unit_of_work() as uow:
            relayed = await relay_staff_reply(
                uow, reference, text, user.id, ctx.services.clock.now()
            )
            await uow.commit()
    except GrievanceNotFound:
        await say(update, ctx, "grievances.staff.not_found")
        return
    except NotPermitted:
        await say(update, ctx, "grievances.staff.safeguarding_only")
        return
    key = (
        "grievances.staff.reply_queued"
        if relayed.member_reachable
        else "grievances.staff.reply_kept"
    )
    await say(update, ctx, key, reference=relayed.reference)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("reply", reply_command))
