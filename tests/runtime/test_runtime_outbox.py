"""The outbox and its one rate-limited sender (SPEC §2): 429, 403 and 5xx handled right."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.engines.outbox import queue_text
from storage import leases
from storage.database import Database
from storage.migrate import upgrade_database
from storage.models import Member, OutboxMessage
from tests.fake_telegram import FakeBotApi
from tests.support.harness import FAST, BotHarness

BLOCKED_MEMBER = 60_003


@pytest.fixture
async def bot_with_limits(fake_api: FakeBotApi, database_url: str) -> AsyncIterator[BotHarness]:
    harness = BotHarness(fake_api, database_url, tuning=replace(FAST, per_chat_interval=0.05))
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def queue_notices(harness: BotHarness, chat_ids: list[int]) -> None:
    async with harness.db.unit_of_work() as uow:
        now = harness.clock.now()
        uow.session.add(
            Member(user_id=BLOCKED_MEMBER, created_at=now, last_seen_at=now, language="en")
        )
        for chat_id in chat_ids:
            await queue_text(
                uow,
                chat_id=chat_id,
                text=f"notice {chat_id}",
                now=now,
                dedupe_key=f"notice:{chat_id}",
            )
        await uow.commit()


async def test_429_then_403_then_500s_deliver_everything_deliverable_exactly_once(
    bot_with_limits: BotHarness,
) -> None:
    api = bot_with_limits.api
    chats = [60_001, 60_002, BLOCKED_MEMBER, 60_004, 60_005]
    api.fail_next("sendMessage", status=429, retry_after=1)
    api.block_chat(BLOCKED_MEMBER)
    api.fail_next("sendMessage", status=500, chat_id=60_004, times=2)
    await queue_notices(bot_with_limits, chats)
    await bot_with_limits.idle(timeout=90)

    for chat_id in chats:
        texts = [m.text for m in api.messages_to(chat_id)]
        expected = [] if chat_id == BLOCKED_MEMBER else [f"notice {chat_id}"]
        assert texts == expected, chat_id
    blocked_calls = [
        c for c in api.calls_to("sendMessage") if c.params.get("chat_id") == BLOCKED_MEMBER
    ]
    assert len(blocked_calls) == 1, "a 403 is never retried"
    failed_500 = [
        c
        for c in api.calls_to("sendMessage")
        if c.params.get("chat_id") == 60_004 and c.status == 500
    ]
    assert len(failed_500) == 2
    assert api.rate_limited_count == 0
    async with bot_with_limits.db.unit_of_work() as uow:
        member = await uow.session.get(Member, BLOCKED_MEMBER)
        unreachable = member is not None and member.unreachable
        rows = await uow.session.execute(select(OutboxMessage.chat_id, OutboxMessage.status))
        statuses = {chat_id: status for chat_id, status in rows.tuples()}
    assert unreachable
    assert statuses[BLOCKED_MEMBER] == "unreachable"
    assert {s for c, s in statuses.items() if c != BLOCKED_MEMBER} == {"sent"}


async def test_retry_after_pauses_all_sending_for_the_time_telegram_asks(
    fake_api: FakeBotApi, database_url: str
) -> None:
    # 5 messages a second: the next send starts well after the 429 has arrived.
    harness = BotHarness(fake_api, database_url, tuning=replace(FAST, outbox_rate=5.0))
    await harness.start()
    try:
        await _retry_after_scenario(harness)
    finally:
        await harness.stop()


async def _retry_after_scenario(harness: BotHarness) -> None:
    api = harness.api
    api.fail_next("sendMessage", status=429, retry_after=2)
    await queue_notices(harness, [61_001, 61_002, 61_003])
    await harness.idle(timeout=60)
    sends = api.calls_to("sendMessage")
    refused = next(c for c in sends if c.status == 429)
    after = [c for c in sends if c.at > refused.at]
    assert after, "the messages were sent later"
    # Nothing at all was sent until retry_after had passed (small tolerance for clocks).
    assert min(c.at for c in after) - refused.at >= 1.9
    assert sorted(m.chat_id for m in api.all_sent_messages()) == [61_001, 61_002, 61_003]


async def test_a_message_queued_twice_with_the_same_key_is_sent_once(
    bot_with_limits: BotHarness,
) -> None:
    await queue_notices(bot_with_limits, [62_001])
    await queue_notices_again(bot_with_limits, 62_001)
    await bot_with_limits.idle(timeout=60)
    assert [m.text for m in bot_with_limits.api.messages_to(62_001)] == ["notice 62001"]


async def queue_notices_again(harness: BotHarness, chat_id: int) -> None:
    async with harness.db.unit_of_work() as uow:
        queued = await queue_text(
            uow,
            chat_id=chat_id,
            text=f"notice {chat_id}",
            now=harness.clock.now(),
            dedupe_key=f"notice:{chat_id}",
        )
        await uow.commit()
    assert queued is False


async def test_private_chat_gets_at_most_one_message_a_second(
    fake_api: FakeBotApi, database_url: str
) -> None:
    harness = BotHarness(fake_api, database_url, tuning=replace(FAST, per_chat_interval=1.0))
    await harness.start()
    try:
        async with harness.db.unit_of_work() as uow:
            for n in range(3):
                await queue_text(
                    uow,
                    chat_id=63_001,
                    text=f"n{n}",
                    now=harness.clock.now(),
                    dedupe_key=f"pace:{n}",
                )
            await uow.commit()
        await harness.idle(timeout=60)
        sends = [c.at for c in fake_api.calls_to("sendMessage") if c.status == 200]
        assert [m.text for m in fake_api.messages_to(63_001)] == ["n0", "n1", "n2"]
        gaps = [b - a for a, b in itertools.pairwise(sends)]
        assert all(gap >= 0.95 for gap in gaps), gaps
    finally:
        await harness.stop()


async def test_one_instance_at_a_time_leads_the_outbox_sender_and_a_dead_one_is_replaced(
    database_url: str,
) -> None:
    """With several instances, only the lease holder sends the outbox, so the overall rate
    holds; a holder that stops renewing is replaced once its lease runs out."""
    database = Database(database_url)
    await upgrade_database(database)
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    lease_for = timedelta(seconds=15)

    async def take(owner: str, at: datetime) -> bool:
        async with database.unit_of_work() as uow:
            taken = await leases.take_lease(
                uow.session, leases.OUTBOX_SENDER, owner, at, lease_for
            )
            await uow.commit()
        return taken

    try:
        assert await take("a:8443", start)
        assert not await take("b:8443", start + timedelta(seconds=1))
        assert await take("a:8443", start + timedelta(seconds=10))  # renewed until 0:25
        assert not await take("b:8443", start + timedelta(seconds=20))
        assert await take("b:8443", start + timedelta(seconds=26))  # a stopped renewing
        assert not await take("a:8443", start + timedelta(seconds=27))
        async with database.unit_of_work() as uow:
            await leases.release_leases_of(uow.session, "b:8443")  # b stops cleanly
            await uow.commit()
        assert await take("a:8443", start + timedelta(seconds=28))
    finally:
        await database.dispose()
