"""The gate before anything personal is stored: the member must have accepted the notice."""

from __future__ import annotations

from telegram import Update

from bot.engines.outbox import Button
from bot.members.records import has_consented
from bot.runtime.context import HiwarContext
from bot.runtime.replies import say


async def require_consent(update: Update, ctx: HiwarContext, resume: str | None = None) -> bool:
    """True if the member has consented; otherwise asks them to, and returns False.

    `resume` is a /start payload (e.g. "s12" or "report") to continue with after consent.
    """
    user = update.effective_user
    if user is None:
        return False
    async with ctx.services.database.unit_of_work() as uow:
        if await has_consented(uow, user.id):
            return True
    data = f"consent:show:{resume}" if resume else "consent:show"
    await say(
        update,
        ctx,
        "consent.required",
        buttons=[
            [Button(ctx.services.catalogue.plain(ctx.language, "consent.show_notice"), data)]
        ],
    )
    return False
