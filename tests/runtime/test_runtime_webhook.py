"""Webhook mode (SPEC §1.1, §2): the secret is checked on every request; the update is
committed before the 200."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from storage.models import InboxUpdate
from tests.fake_telegram import FakeBotApi, TgUser, factories, post_update
from tests.support.harness import BotHarness

SECRET = "webhook-secret-for-tests-0123456789"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def webhook_bot(fake_api: FakeBotApi, database_url: str) -> AsyncIterator[BotHarness]:
    port = free_port()
    harness = BotHarness(
        fake_api,
        database_url,
        WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
        WEBHOOK_SECRET=SECRET,
        PORT=str(port),
    )
    await harness.start()
    harness.webhook_url = f"http://127.0.0.1:{port}/telegram"  # type: ignore[attr-defined]
    try:
        yield harness
    finally:
        await harness.stop()


async def inbox_count(harness: BotHarness) -> int:
    async with harness.db.unit_of_work() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(InboxUpdate)) or 0)


async def test_webhook_is_registered_with_its_secret(webhook_bot: BotHarness) -> None:
    assert webhook_bot.api.webhook_url.endswith("/telegram")
    assert webhook_bot.api.webhook_secret == SECRET


@pytest.mark.parametrize("secret", [None, "", "wrong-secret-0123456789012345", SECRET + "x"])
async def test_a_request_without_the_right_secret_is_refused_and_stores_nothing(
    webhook_bot: BotHarness, secret: str | None
) -> None:
    update = factories.text_message(TgUser(70_001, "W"), "/cancel", update_id=5_000)
    status = await post_update(webhook_bot.webhook_url, update, secret)  # type: ignore[attr-defined]
    assert status == 403
    assert await inbox_count(webhook_bot) == 0
    assert webhook_bot.api.messages_to(70_001) == []


async def test_garbage_with_the_right_secret_is_refused(webhook_bot: BotHarness) -> None:
    status = await post_update(webhook_bot.webhook_url, {"hello": "world"}, SECRET)  # type: ignore[attr-defined]
    assert status == 400
    assert await inbox_count(webhook_bot) == 0


async def test_an_update_with_the_right_secret_is_stored_then_handled(
    webhook_bot: BotHarness,
) -> None:
    update = factories.text_message(
        TgUser(70_002, "W", language_code="en"), "/cancel", update_id=5_001
    )
    status = await post_update(webhook_bot.webhook_url, update, SECRET)  # type: ignore[attr-defined]
    assert status == 200
    assert await inbox_count(webhook_bot) == 1
    reply = await webhook_bot.api.next_message(70_002, timeout=20)
    assert reply.text == "There is nothing to cancel."
    # Telegram retries the same update: it is not handled again.
    assert await post_update(webhook_bot.webhook_url, update, SECRET) == 200  # type: ignore[attr-defined]
    await webhook_bot.idle()
    assert len(webhook_bot.api.messages_to(70_002)) == 1
