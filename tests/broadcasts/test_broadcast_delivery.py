"""Acceptance at scale, over the fake Bot API with Telegram's rate limit enforced: 2,000
members, 2% of whom blocked the bot. Everyone else gets exactly one message in their
language, the blocked are counted and marked, the progress message moves in place and the
final report is right, with no 429 provoked. A running broadcast can be cancelled."""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from storage.models import Member
from tests.broadcasts.test_broadcast_support import (
    add_members,
    broadcast_row,
    compose,
    crowd,
    delivered_text,
    label,
    make_organiser,
    messages_per_member,
    outbox_statuses,
    text,
    wait_until,
)
from tests.fake_telegram import FakeBotApi
from tests.support.harness import FAST, BotHarness

ORGANISER = 900
RATE = 300
CANCEL_RATE = 50  # slow enough that the organiser's cancel lands mid-way on a busy machine
ARABIC = "أسبوع اللاعنف يبدأ يوم السبت. انضموا إلينا في الساحة العامة."
ENGLISH = "Non-violence week starts on Saturday. Join us in the main square."


@contextlib.asynccontextmanager
async def paced_bot(api: FakeBotApi, database_url: str, rate: int) -> AsyncIterator[BotHarness]:
    """The bot paced to the same rate the fake Telegram enforces."""
    api.set_rate_limit(rate)
    tuning = dataclasses.replace(FAST, outbox_rate=rate, per_chat_interval=0.0)
    harness = BotHarness(api, database_url, tuning=tuning)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


@pytest.fixture
async def limited_bot(fake_api: FakeBotApi, database_url: str) -> AsyncIterator[BotHarness]:
    async with paced_bot(fake_api, database_url, RATE) as harness:
        yield harness


def sent_figure(content: str) -> int:
    match = re.search(r"Sent: ([\d,]+)", content)
    assert match is not None, content
    return int(match.group(1).replace(",", ""))


async def test_two_thousand_members_each_get_it_once_and_blocked_ones_are_counted(
    limited_bot: BotHarness,
) -> None:
    bot = limited_bot
    now = bot.clock.now()
    await make_organiser(bot.db, ORGANISER, now)
    members = crowd(2000, now)
    await add_members(bot.db, members)
    blocked = {row["user_id"] for row in members[::50]}  # 2%
    for user_id in blocked:
        bot.api.block_chat(user_id)
    organiser = bot.user(ORGANISER, "en")

    draft = await compose(bot.api, organiser, "en", arabic=ARABIC, english=ENGLISH)
    row = await broadcast_row(bot.db)
    organiser.press(draft["card"], text=label("en", "broadcasts.buttons.send"))
    report = await organiser.reply(timeout=120)
    assert report.content == text(
        "en",
        "broadcasts.report.done",
        broadcast_id=row.id,
        total=2000,
        sent=1960,
        blocked=40,
        failed=0,
    )
    await bot.idle(timeout=60)

    received = messages_per_member(bot.api, "/unsubscribe", ORGANISER)
    expected = {row["user_id"]: 1 for row in members if row["user_id"] not in blocked}
    assert received == expected
    languages = {row["user_id"]: row["language"] for row in members}
    for message in bot.api.all_sent_messages():
        if message.chat_id in expected:
            body = ARABIC if languages[message.chat_id] == "ar" else ENGLISH
            assert message.content == delivered_text(languages[message.chat_id], body)
    assert bot.api.rate_limited_count == 0
    assert await outbox_statuses(bot.db, row.id) == {"sent": 1960, "unreachable": 40}
    async with bot.db.unit_of_work() as uow:
        marked = set(await uow.session.scalars(select(Member.user_id).where(Member.unreachable)))
    assert marked == blocked

    # The card was edited in place: progress while sending, then the final report.
    edits = [
        call.params["text"]
        for call in bot.api.calls_to("editMessageText")
        if call.ok and int(call.params["message_id"]) == draft["card"].message_id
    ]
    progress = [edit for edit in edits if "being sent" in edit]
    assert progress, edits
    figures = [sent_figure(edit) for edit in progress]
    assert figures == sorted(figures) and figures[-1] <= 1960
    assert all("of 2,000" in edit and "left" in edit for edit in progress)
    card = bot.api.get_message(ORGANISER, draft["card"].message_id)
    assert card is not None and card.content == report.content

    organiser.command("/broadcasts")
    listing = await organiser.reply()
    assert "Delivered 1,960 of 2,000" in listing.content and "blocked 40" in listing.content


async def test_cancelling_a_running_broadcast_stops_it(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with paced_bot(fake_api, database_url, CANCEL_RATE) as bot:
        await cancel_mid_way(bot)


async def cancel_mid_way(bot: BotHarness) -> None:
    now = bot.clock.now()
    await make_organiser(bot.db, ORGANISER, now)
    await add_members(bot.db, crowd(1500, now))
    organiser = bot.user(ORGANISER, "en")
    draft = await compose(bot.api, organiser, "en", arabic=ARABIC, english=ENGLISH)
    row = await broadcast_row(bot.db)
    organiser.press(draft["card"], text=label("en", "broadcasts.buttons.send"))

    def delivered() -> int:
        return sum(messages_per_member(bot.api, "/unsubscribe", ORGANISER).values())

    await wait_until(lambda: delivered() >= 150, 60, "150 deliveries")
    organiser.press(draft["card"], text=label("en", "broadcasts.buttons.cancel"))
    question = await organiser.reply(timeout=30)
    organiser.press(question, text=label("en", "broadcasts.buttons.confirm_cancel"))
    answer = await organiser.reply(timeout=30)
    assert answer.content.startswith(f"Announcement #{row.id} is cancelled.")
    at_cancel = delivered()
    report = await organiser.reply(timeout=60)
    assert report.content.startswith(f"⛔ Announcement #{row.id} was cancelled.")
    await bot.idle(timeout=60)
    final = delivered()
    # Only messages already handed to the sender (at most two seconds' worth) still went out.
    assert final <= at_cancel + 2 * CANCEL_RATE + 2
    assert final < 1500 - CANCEL_RATE
    statuses = await outbox_statuses(bot.db, row.id)
    assert statuses["sent"] == final
    assert statuses["sent"] + statuses["cancelled"] == 1500
    assert report.content == text(
        "en",
        "broadcasts.report.cancelled",
        broadcast_id=row.id,
        total=1500,
        sent=final,
        blocked=0,
        failed=0,
        cancelled=statuses["cancelled"],
        remaining=0,
        eta_minutes=0,
        eta_seconds=0,
    )
    assert bot.api.rate_limited_count == 0
