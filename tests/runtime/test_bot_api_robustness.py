"""Robust Bot API use (issue 14, point 5): exact update types, optional parameters refused."""

from __future__ import annotations

from bot.runtime.telegram_api import HANDLED_UPDATE_TYPES
from tests.support.harness import BotHarness

REFUSED = "Bad Request: link_preview_options is not supported yet"


async def test_get_updates_asks_for_exactly_the_handled_types(bot: BotHarness) -> None:
    member = bot.user(71001)
    member.command("/start")
    await member.reply()
    polls = bot.api.calls_to("getUpdates")
    assert polls, "the bot never polled"
    assert all(call.params.get("allowed_updates") == list(HANDLED_UPDATE_TYPES) for call in polls)


async def test_a_refused_optional_parameter_is_dropped_and_the_reply_arrives(
    bot: BotHarness,
) -> None:
    bot.api.fail_next("sendMessage", status=400, description=REFUSED)
    member = bot.user(71002)
    member.command("/start")
    greeting = await member.reply()
    assert greeting.text.strip()
    sends = bot.api.calls_to("sendMessage")
    assert sends[0].status == 400
    accepted = [call for call in sends if call.status == 200]
    assert accepted, bot.api.describe_recent_calls()
    assert all("link_preview_options" not in call.params for call in accepted)
    assert all("disable_web_page_preview" not in call.params for call in accepted)
