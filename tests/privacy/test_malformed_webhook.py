"""The webhook never crashes (issue 16): malformed content behind the right secret gets a
400, no traceback, is counted and logged without its content; the bot goes on working."""

from __future__ import annotations

import json
import logging

import pytest

from tests.fake_telegram import TgUser, factories, post_body, post_update
from tests.runtime.test_runtime_webhook import SECRET, inbox_count, webhook_bot
from tests.support.harness import BotHarness

__all__ = ["webhook_bot"]  # the fixture, used by name below

NESTED = b'{"update_id": 1, "message": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
SECRET_WORDS = "my-neighbour-hit-me"
BODIES = [
    json.dumps({"update_id": 9001, "message": "x"}).encode(),
    json.dumps({"update_id": 2**70, "message": {"text": SECRET_WORDS}}).encode(),
    json.dumps({"update_id": -1}).encode(),
    json.dumps({"update_id": 9002, "message": {"chat": SECRET_WORDS, "date": "x"}}).encode(),
    json.dumps({"update_id": 9003, "callback_query": [SECRET_WORDS]}).encode(),
    NESTED,
    b"[" * 100_000,
    b"\xff\xfe not json",
    b"null",
]


@pytest.mark.parametrize("index", range(len(BODIES)))
async def test_malformed_updates_get_400_and_no_traceback(
    webhook_bot: BotHarness, index: int, caplog: pytest.LogCaptureFixture
) -> None:
    url = webhook_bot.webhook_url  # type: ignore[attr-defined]
    with caplog.at_level(logging.INFO):
        status = await post_body(url, BODIES[index], SECRET)
    assert status == 400
    assert await inbox_count(webhook_bot) == 0
    assert not any(record.exc_info for record in caplog.records)
    assert SECRET_WORDS not in caplog.text
    assert "malformed update rejected" in caplog.text
    assert webhook_bot.runtime is not None
    # The bot still takes a good update afterwards.
    good = factories.text_message(TgUser(70_100, "W", language_code="en"), "/cancel", update_id=77)
    assert await post_update(url, good, SECRET) == 200
    reply = await webhook_bot.api.next_message(70_100, timeout=20)
    assert reply.text == "There is nothing to cancel."
