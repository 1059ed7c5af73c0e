"""The durable inbox (SPEC §2): nothing lost, nothing handled twice, each chat in order."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.runtime.application import FEATURES
from storage.database import Database
from storage.models import InboxUpdate
from tests.fake_telegram import FakeBotApi, SimulatedUser, TgUser, factories
from tests.support import effect_feature
from tests.support.effects import duplicates, out_of_order_chats, recorded_effects
from tests.support.harness import BotHarness, BotProcess

WITH_EFFECTS = (*FEATURES, effect_feature)


@pytest.fixture
async def effect_bot(fake_api: FakeBotApi, database_url: str) -> AsyncIterator[BotHarness]:
    harness = BotHarness(fake_api, database_url, features=WITH_EFFECTS)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


def burst(api: FakeBotApi, chats: int, per_chat: int, seed: int = 7) -> list[int]:
    """Push per_chat numbered /effect commands for each chat, interleaved at random."""
    users = [SimulatedUser(api, TgUser(10_000 + i, f"M{i}")) for i in range(chats)]
    queue = [(user, seq) for user in users for seq in range(per_chat)]
    # Shuffle across chats but keep each chat's own sequence in order.
    rng = random.Random(seed)
    streams = {user.chat_id: [q for q in queue if q[0] is user] for user in users}
    update_ids = []
    while streams:
        chat = rng.choice(sorted(streams))
        user, seq = streams[chat].pop(0)
        if not streams[chat]:
            del streams[chat]
        update_ids.append(user.command(f"/effect {seq}"))
    return update_ids


async def test_burst_of_200_updates_from_50_chats_is_handled_once_each_in_order(
    effect_bot: BotHarness,
) -> None:
    update_ids = burst(effect_bot.api, chats=50, per_chat=4)
    assert len(update_ids) == 200
    await effect_bot.idle(timeout=120)
    effects = await recorded_effects(effect_bot.db)
    assert sorted(e.update_id for e in effects) == sorted(update_ids)
    assert duplicates(effects) == {}
    assert out_of_order_chats(effects) == []
    replies = [
        m for m in effect_bot.api.all_sent_messages() if (m.text or "").startswith("effect")
    ]
    assert len(replies) == 200


async def test_every_update_is_stored_before_telegram_is_told(effect_bot: BotHarness) -> None:
    user = effect_bot.user(20_001)
    pushed = {user.command(f"/effect {seq}") for seq in range(5)}
    await effect_bot.idle(timeout=60)
    confirmed_below = effect_bot.api.confirmed_offset
    assert confirmed_below > max(pushed), "the bot confirmed every update it received"
    async with effect_bot.db.unit_of_work() as uow:
        stored = set(await uow.session.scalars(select(InboxUpdate.update_id)))
    # Every update Telegram was told about is in the inbox.
    assert {u for u in pushed if u < confirmed_below} <= stored
    assert stored == pushed
    async with effect_bot.db.unit_of_work() as uow:
        statuses = set(await uow.session.scalars(select(InboxUpdate.status)))
        payloads = await uow.session.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.payload.is_not(None))
        )
    assert statuses == {"done"}
    assert payloads == 0, "handled updates keep no message text"


async def test_a_redelivered_update_has_no_second_effect(effect_bot: BotHarness) -> None:
    user = TgUser(20_002, "Twice")
    update = factories.text_message(user, "/effect 1", update_id=777_001)
    effect_bot.api.push_update(dict(update))
    await effect_bot.idle(timeout=60)
    effect_bot.api.push_update(dict(update))  # Telegram delivers it again
    await effect_bot.idle(timeout=60)
    effects = await recorded_effects(effect_bot.db)
    assert [e.update_id for e in effects] == [777_001]


async def test_unfinished_inbox_rows_are_processed_after_a_restart(
    fake_api: FakeBotApi, database_url: str
) -> None:
    harness = BotHarness(fake_api, database_url, features=WITH_EFFECTS)
    await harness.start()
    await harness.stop()
    # Rows stored by an instance that died before handling them.
    from storage import inbox

    database = Database(database_url)
    now = harness.clock.now()
    items = [
        inbox.IncomingUpdate(
            900_000 + i,
            30_000,
            factories.text_message(TgUser(30_000, "R"), f"/effect {i}", update_id=900_000 + i),
        )
        for i in range(3)
    ]
    async with database.unit_of_work() as uow:
        await inbox.store_incoming(uow.session, items, now)
        await uow.commit()
    await database.dispose()
    await harness.start()
    try:
        await harness.idle(timeout=60)
        effects = await recorded_effects(harness.db)
        assert [e.seq for e in effects] == [0, 1, 2]
    finally:
        await harness.stop()


async def test_sigkill_in_the_middle_of_a_burst_loses_and_duplicates_nothing(
    fake_api: FakeBotApi, database_url: str, tmp_path: Path
) -> None:
    process = BotProcess(
        fake_api, database_url, tmp_path / "bot.log", HIWAR_TEST_EFFECT_DELAY="0.02"
    )
    database = Database(database_url)
    process.start()
    try:
        update_ids = burst(fake_api, chats=20, per_chat=10, seed=11)
        # Kill once some, but not all, effects are committed.
        for _ in range(600):
            done = len(await recorded_effects(database)) if await _has_tables(database) else 0
            if done >= 40:
                break
            await asyncio.sleep(0.05)
        process.kill()
        killed_at = len(await recorded_effects(database))
        assert killed_at < len(update_ids), "the kill landed after the burst; slow the handler"
        process.start()
        deadline = asyncio.get_running_loop().time() + 120
        while len(await recorded_effects(database)) < len(update_ids):
            assert asyncio.get_running_loop().time() < deadline, process.log()[-3000:]
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # anything duplicated would show up now
        effects = await recorded_effects(database)
        assert sorted(e.update_id for e in effects) == sorted(update_ids)
        assert duplicates(effects) == {}
        assert out_of_order_chats(effects) == []
    finally:
        process.terminate()
        await database.dispose()


async def _has_tables(database: Database) -> bool:
    try:
        await recorded_effects(database)
    except Exception:
        return False
    return True


async def test_handler_error_is_answered_politely_logged_without_text_and_admins_told(
    fake_api: FakeBotApi, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    harness = BotHarness(fake_api, database_url, features=WITH_EFFECTS, ADMIN_IDS="42")
    await harness.start()
    try:
        member = harness.user(20_003, language_code="ar")
        member.command("/boom secret member text")
        reply = await member.reply()
        assert reply.text is not None and "حدث خطأ" in reply.text
        await fake_api.wait_for(lambda: bool(fake_api.messages_to(42)), timeout=20)
        alert = fake_api.messages_to(42)[0].text or ""
        assert "DeliberateFailure" in alert
        assert "secret member text" not in caplog.text
        assert "secret member text" not in alert
        # The bot carries on.
        member.command("/effect 5")
        assert (await member.reply()).text == "effect 5"
    finally:
        await harness.stop()
