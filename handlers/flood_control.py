"""The flood-control pre-filter (SPEC §7); the policy and its reasons are in bot.members.flood.

Runs after the language pre-filter and before every feature. A member over the limit gets
one polite "please slow down"; then the update goes quiet (no replies) but is still handled,
so every answer typed into a flow is kept.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, TypeHandler

from bot.members.flood import FloodGate, FloodVerdict, policy_from_settings
from bot.runtime.context import HiwarContext, current_scope
from bot.runtime.replies import say
from handlers.prefilters import LANGUAGE_GROUP

FLOOD_GROUP = LANGUAGE_GROUP + 10
GATE_KEY = "flood_gate"


def flood_gate(ctx: HiwarContext) -> FloodGate:
    gate = ctx.services.extras.get(GATE_KEY)
    if not isinstance(gate, FloodGate):
        gate = FloodGate(policy_from_settings(ctx.services.settings.extra))
        ctx.services.extras[GATE_KEY] = gate
    return gate


async def check_pace(update: Update, ctx: HiwarContext) -> None:
    message, user, scope = update.message, update.effective_user, current_scope()
    if message is None or user is None or scope is None:
        return
    if message.chat.type != "private":
        return
    gate = flood_gate(ctx)
    verdict = gate.check(user.id, message.date.timestamp(), message.message_id)
    if verdict is FloodVerdict.WARN:
        sender_id = user.id

        async def note(message_id: int) -> None:
            gate.note_warning(sender_id, message_id)

        await say(update, ctx, "onboarding.flood.slow_down", on_sent=note)
    if verdict is not FloodVerdict.ALLOW:
        scope.quiet = True


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(TypeHandler(Update, check_pace), group=FLOOD_GROUP)
