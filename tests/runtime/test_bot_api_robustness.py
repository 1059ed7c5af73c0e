"""Robust Bot API use (issue 14, point 5): exact update types, optional parameters refused."""

from __future__ import annotations

import logging

import pytest

from bot.runtime.telegram_api import HANDLED_UPDATE_TYPES
from tests.fake_telegram import FakeBotApi
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


UNKNOWN_TYPE = "Bad Request: allowed_updates contains an unknown update type"
ADMIN = 71009


async def test_a_refused_get_updates_is_logged_with_telegrams_words_and_admins_are_told(
    fake_api: FakeBotApi, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake_api.fail_next("getUpdates", status=400, description=UNKNOWN_TYPE)
    harness = BotHarness(fake_api, database_url, ADMIN_IDS=str(ADMIN))
    with caplog.at_level(logging.ERROR, logger="bot.runtime.receivers"):
        await harness.start()
        try:
            alert = await fake_api.next_message(ADMIN, timeout=20)
        finally:
            await harness.stop()
    # In Arabic (the default language), with Telegram's words (python-telegram-bot drops
    # the "Bad Request: " prefix).
    assert "contains an unknown update type" in alert.content and "تيليغرام" in alert.content
    assert "٣٠" in alert.content
    refused = [r.getMessage() for r in caplog.records if "getUpdates refused" in r.getMessage()]
    assert refused and "contains an unknown update type" in refused[0]
    assert "retrying in 30 s" in refused[0]
    assert not alert.buttons()


async def test_the_apology_arrives_from_a_server_that_refuses_an_optional_parameter(
    fake_api: FakeBotApi, database_url: str
) -> None:
    fake_api.fail_next("sendMessage", status=400, description=REFUSED, times=1)
    harness = BotHarness(fake_api, database_url, ADMIN_IDS=str(ADMIN))
    await harness.start()
    try:
        member = harness.user(71010)
        member.command("/nosuchcommand")
        answer = await member.reply(timeout=20)
    finally:
        await harness.stop()
    assert answer.text.strip()
    assert all(
        "link_preview_options" not in call.params
        for call in fake_api.calls_to("sendMessage")
        if call.status == 200
    )
