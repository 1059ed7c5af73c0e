"""Replies belong to the update's transaction (issue 14): none lost after a commit, none
repeated by a graceful stop, at most the sends in flight repeated by a kill, none thrown
away on a transient Bot API error.

The restart cases run the real bot as a child process (tests/support/harness.py) against
the fake Bot API, once per database, each well under half a minute.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.runtime.application import FEATURES
from storage.database import Database
from storage.models import InboxUpdate, Member, OutboxMessage
from tests.fake_telegram import FakeBotApi, SimulatedUser, TgUser
from tests.fake_telegram.records import SentMessage
from tests.fake_telegram.server import DROPPED_CONNECTION
from tests.support import effect_feature
from tests.support.effects import duplicates, recorded_effects
from tests.support.harness import BotHarness, BotProcess

MEMBERS = 100
WITH_EFFECTS = (*FEATURES, effect_feature)


def consent_notice(api: FakeBotApi, chat_id: int) -> tuple[SentMessage, str] | None:
    """The consent notice sent to `chat_id` and its "I agree" button's data."""
    for message in reversed(api.messages_to(chat_id)):
        for _label, data in message.buttons():
            if (data or "").startswith("consent:yes"):
                return message, str(data)
    return None


def effect_texts(api: FakeBotApi, chat_id: int) -> list[str]:
    return [m.text or "" for m in api.messages_to(chat_id) if (m.text or "").startswith("effect")]


@pytest.mark.parametrize("status", [502, 429, DROPPED_CONNECTION])
async def test_a_transient_error_on_a_reply_still_brings_the_real_answer_once(
    fake_api: FakeBotApi, database_url: str, status: int
) -> None:
    bot = BotHarness(fake_api, database_url, features=WITH_EFFECTS)
    await bot.start()
    try:
        user = bot.user(31_001)
        fake_api.fail_next("sendMessage", status=status, chat_id=user.chat_id, retry_after=1)
        update_id = user.command("/effect 7")
        await bot.idle(timeout=30)
        assert effect_texts(fake_api, user.chat_id) == ["effect 7"]
        assert not fake_api.pending_faults()  # the fault did happen
        effects = await recorded_effects(bot.db)
        assert [e.update_id for e in effects] == [update_id]
        async with bot.db.unit_of_work(read_only=True) as uow:
            status_of = await uow.session.scalar(
                select(InboxUpdate.status).where(InboxUpdate.update_id == update_id)
            )
        assert status_of == "done"
        assert "Sorry" not in " ".join(m.text or "" for m in fake_api.messages_to(user.chat_id))
    finally:
        await bot.stop()


async def test_a_transient_error_inside_a_handler_retries_the_update_without_a_trace(
    fake_api: FakeBotApi, database_url: str
) -> None:
    """/start answers a callback query first; a 502 there rolls the update back and it is
    handled again: the effect once, the reply once, no apology."""
    bot = BotHarness(fake_api, database_url)
    await bot.start()
    try:
        user = bot.user(31_002, language_code="en")
        user.command("/start")
        await fake_api.wait_for(lambda: bool(consent_notice(fake_api, user.chat_id)), timeout=20)
        await bot.idle(timeout=20)
        found = consent_notice(fake_api, user.chat_id)
        assert found is not None
        fake_api.fail_next("answerCallbackQuery", status=502)
        user.press(found[0], data=found[1])
        await bot.idle(timeout=30)
        texts = [m.text or "" for m in fake_api.messages_to(user.chat_id)]
        assert len(texts) == len(set(texts)), texts
        assert not any("went wrong" in text for text in texts)
        async with bot.db.unit_of_work(read_only=True) as uow:
            consented = await uow.session.scalar(
                select(Member.consented_at).where(Member.user_id == user.chat_id)
            )
        assert consented is not None
    finally:
        await bot.stop()


def crowd(api: FakeBotApi, first: int) -> list[SimulatedUser]:
    return [
        SimulatedUser(api, TgUser(first + i, f"M{i}", language_code=("ar", "en")[i % 2]))
        for i in range(MEMBERS)
    ]


async def claimed_replies(database_url: str) -> int:
    """Replies committed and claimed but not recorded as sent: the sends in flight at a kill
    (each was sent, is being sent, or is still to be sent)."""
    database = Database(database_url, pool_size=1)
    try:
        async with database.unit_of_work(read_only=True) as uow:
            count = await uow.session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == "sending")
            )
        return int(count or 0)
    finally:
        await database.dispose()


def child(api: FakeBotApi, database_url: str, tmp_path: Path, **env: str) -> BotProcess:
    return BotProcess(
        api,
        database_url,
        tmp_path / "bot.log",
        HIWAR_FLOOD_MESSAGES="100000",
        HIWAR_CONCURRENCY="32",
        LOG_LEVEL="WARNING",
        **env,
    )


async def wait_ready(api: FakeBotApi, calls_before: int) -> None:
    await api.wait_for(lambda: len(api.calls_to("getUpdates")) > calls_before, timeout=60)


@pytest.mark.chaos
async def test_sigterm_in_a_burst_loses_and_repeats_nothing(
    fake_api: FakeBotApi, database_url: str, tmp_path: Path
) -> None:
    # Each handler takes 20 ms, so the stop finds chats in hand.
    bot = child(fake_api, database_url, tmp_path, HIWAR_TEST_EFFECT_DELAY="0.02")
    bot.start()
    try:
        await wait_ready(fake_api, 0)
        members = crowd(fake_api, 700_000)
        for member in members:
            member.command("/effect 1")
        await fake_api.wait_for(lambda: len(fake_api.calls_to("sendMessage")) >= 10, timeout=60)
        bot.terminate()  # SIGTERM, then wait for the exit
        stopped_with = len(fake_api.calls_to("sendMessage"))
        polls = len(fake_api.calls_to("getUpdates"))
        bot.start()
        await wait_ready(fake_api, polls)
        await fake_api.wait_for(
            lambda: all(effect_texts(fake_api, m.chat_id) for m in members), timeout=60
        )
        await asyncio.sleep(1.0)  # anything repeated would arrive by now
    finally:
        bot.terminate()
    print(f"SIGTERM after {stopped_with} of {MEMBERS} replies")
    lost = [m.chat_id for m in members if not effect_texts(fake_api, m.chat_id)]
    repeated = [m.chat_id for m in members if len(effect_texts(fake_api, m.chat_id)) > 1]
    assert lost == [] and repeated == []
    assert stopped_with < MEMBERS, "the stop came in the middle of the burst"
    database = Database(database_url, pool_size=1)
    try:
        assert duplicates(await recorded_effects(database)) == {}
    finally:
        await database.dispose()


@pytest.mark.chaos
async def test_sigkill_after_100_members_press_consent_leaves_none_unanswered(
    fake_api: FakeBotApi, database_url: str, tmp_path: Path
) -> None:
    # 100 sends a second: at the kill most answers are committed and not yet sent.
    bot = child(fake_api, database_url, tmp_path, HIWAR_OUTBOX_RATE="100")
    bot.start()
    try:
        await wait_ready(fake_api, 0)
        members = crowd(fake_api, 710_000)
        for member in members:
            member.command("/start")
        await fake_api.wait_for(
            lambda: all(consent_notice(fake_api, m.chat_id) for m in members), timeout=60
        )
        await asyncio.sleep(0.5)  # every reply to /start is in
        before = {m.chat_id: len(fake_api.messages_to(m.chat_id)) for m in members}
        for member in members:
            found = consent_notice(fake_api, member.chat_id)
            assert found is not None
            member.press(found[0], data=found[1])
        await asyncio.sleep(0.3)
        bot.kill()
        in_flight = await claimed_replies(database_url)
        polls = len(fake_api.calls_to("getUpdates"))
        bot.start()
        await wait_ready(fake_api, polls)

        def answered(member: SimulatedUser) -> bool:
            return len(fake_api.messages_to(member.chat_id)) > before[member.chat_id]

        await fake_api.wait_for(lambda: all(answered(m) for m in members), timeout=60)
        await asyncio.sleep(1.0)
    finally:
        bot.terminate()
    unanswered = [m.chat_id for m in members if not answered(m)]
    repeats = 0
    for member in members:
        after = fake_api.messages_to(member.chat_id)[before[member.chat_id] :]
        texts = Counter(m.text for m in after)
        repeats += sum(count - 1 for count in texts.values())
    print(f"SIGKILL 0.3 s after the presses: {in_flight} replies in flight, {repeats} repeated")
    assert unanswered == []
    assert repeats <= in_flight
    database = Database(database_url, pool_size=1)
    try:
        async with database.unit_of_work(read_only=True) as uow:
            consented = await uow.session.scalar(
                select(func.count())
                .select_from(Member)
                .where(Member.consented_at.is_not(None), Member.user_id >= 710_000)
            )
    finally:
        await database.dispose()
    assert consented == MEMBERS


@pytest.mark.chaos
async def test_sigkill_in_a_burst_loses_nothing_and_repeats_at_most_the_sends_in_flight(
    fake_api: FakeBotApi, database_url: str, tmp_path: Path
) -> None:
    bot = child(fake_api, database_url, tmp_path, HIWAR_TEST_EFFECT_DELAY="0.01")
    bot.start()
    try:
        await wait_ready(fake_api, 0)
        members = crowd(fake_api, 720_000)
        for member in members:
            member.command("/effect 2")
        await fake_api.wait_for(lambda: len(fake_api.calls_to("sendMessage")) >= 30, timeout=60)
        bot.kill()
        sent_at_kill = len(fake_api.calls_to("sendMessage"))
        in_flight = await claimed_replies(database_url)
        polls = len(fake_api.calls_to("getUpdates"))
        bot.start()
        await wait_ready(fake_api, polls)
        await fake_api.wait_for(
            lambda: all(effect_texts(fake_api, m.chat_id) for m in members), timeout=60
        )
        await asyncio.sleep(1.0)
    finally:
        bot.terminate()
    lost = [m.chat_id for m in members if not effect_texts(fake_api, m.chat_id)]
    repeats = sum(max(0, len(effect_texts(fake_api, m.chat_id)) - 1) for m in members)
    print(
        f"SIGKILL after {sent_at_kill} sends: {in_flight} replies in flight"
        f" (committed, not recorded), {repeats} repeated"
    )
    assert lost == []
    assert repeats <= in_flight
    database = Database(database_url, pool_size=1)
    try:
        assert duplicates(await recorded_effects(database)) == {}
    finally:
        await database.dispose()
