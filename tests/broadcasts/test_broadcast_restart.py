"""The bot is killed (SIGKILL) in the middle of an announcement and started again: the
announcement completes, the figures are right, and a member gets it twice only if their
message was in flight at the moment of the kill."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.clock import SystemClock
from storage.database import Database
from storage.migrate import upgrade_database
from storage.models import OutboxMessage
from tests.broadcasts.test_broadcast_support import (
    add_members,
    broadcast_row,
    compose,
    crowd,
    label,
    make_organiser,
    messages_per_member,
    text,
    wait_until,
)
from tests.fake_telegram import FakeBotApi, SimulatedUser, TgUser
from tests.support.harness import FAST, BotHarness, BotProcess

ORGANISER = 900
RATE = 300
ENGLISH = "Dialogue week: every evening at the community centre."


async def recorded_as_sent(database: Database, broadcast_id: int) -> int:
    """Broadcast messages the bot had written down as delivered."""
    async with database.unit_of_work() as uow:
        count = await uow.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.source == f"broadcast:{broadcast_id}",
                OutboxMessage.status == "sent",
            )
        )
        return int(count or 0)


async def test_sigkill_mid_broadcast_then_restart_completes_it_without_duplicates(
    fake_api: FakeBotApi, database_url: str, tmp_path: Path
) -> None:
    database = Database(database_url)
    await upgrade_database(database)
    harness: BotHarness | None = None
    process = BotProcess(fake_api, database_url, tmp_path / "bot.log", HIWAR_OUTBOX_RATE=str(RATE))
    try:
        now = SystemClock().now()
        await make_organiser(database, ORGANISER, now)
        members = crowd(1000, now)
        await add_members(database, members)
        blocked = {row["user_id"] for row in members[::50]}
        for user_id in blocked:
            fake_api.block_chat(user_id)
        fake_api.set_rate_limit(RATE)

        process.start()
        await fake_api.wait_for(lambda: bool(fake_api.calls_to("getUpdates")), timeout=60)
        organiser = SimulatedUser(fake_api, TgUser(ORGANISER, "Organiser", language_code="en"))
        draft = await compose(fake_api, organiser, "en", arabic=None, english=ENGLISH)
        row = await broadcast_row(database)
        organiser.press(draft["card"], text=label("en", "broadcasts.buttons.send"))

        def delivered() -> int:
            return len(messages_per_member(fake_api, ENGLISH, ORGANISER))

        # Mid-stream: after the first second, whose window fills quickly and then pauses.
        await wait_until(lambda: delivered() >= 450, 120, "450 deliveries")
        process.kill()
        delivered_at_kill = delivered()
        # Delivered but not yet written down: the most that can go out twice after restart.
        unrecorded_at_kill = delivered_at_kill - await recorded_as_sent(database, row.id)
        assert delivered_at_kill < 980, "the kill landed after the broadcast; slow it down"

        # Started again later: the claims of the dead instance have expired by then. Telegram's
        # limit counts real seconds, and the dead instance may have filled the last one: a new
        # process cannot know that, and a real restart takes longer than the one second.
        await asyncio.sleep(1.1)
        tuning = dataclasses.replace(FAST, outbox_rate=RATE, per_chat_interval=0.0)
        harness = BotHarness(fake_api, database_url, tuning=tuning)
        harness.clock.advance(timedelta(minutes=6))
        await harness.start()
        report = await organiser.reply(timeout=120)
        assert report.content == text(
            "en",
            "broadcasts.report.done",
            broadcast_id=row.id,
            total=1000,
            sent=980,
            blocked=20,
            failed=0,
        )
        await harness.idle(timeout=60)
        await asyncio.sleep(0.5)  # anything sent twice would show up by now

        received = messages_per_member(fake_api, ENGLISH, ORGANISER)
        assert set(received) == {row["user_id"] for row in members} - blocked
        duplicates = sum(count - 1 for count in received.values())
        print(
            f"\nSIGKILL after {delivered_at_kill} deliveries, {unrecorded_at_kill} of them not "
            f"yet recorded; duplicates after restart: {duplicates}"
        )
        assert duplicates <= unrecorded_at_kill
        assert fake_api.rate_limited_count == 0
    finally:
        process.terminate()
        if harness is not None:
            await harness.stop()
        await database.dispose()
