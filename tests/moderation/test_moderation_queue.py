"""/queue (SPEC §4.1): most urgent then oldest first, filters, and keyset pages that neither
skip nor repeat a case, on both databases; filters and pages also parse from buttons."""

from __future__ import annotations

import random
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.engines.roles import Role
from bot.moderation.queue import QueueFilters, parse_filters, queue_page
from tests.fake_telegram import FakeBotApi
from tests.grievances.test_grievance_steps import running_bot, staff_member
from tests.moderation.test_moderation_steps import current, new_case, seed_cases

STATUSES = ["new", "acknowledged", "in_review", "escalated", "resolved", "closed"]


@given(
    st.sampled_from([None, "new", "closed"]),
    st.sampled_from([None, "public_services", "gbv"]),
    st.sampled_from([None, "anbar", "nineveh"]),
    st.booleans(),
    st.booleans(),
)
def test_filters_survive_the_button_encoding(
    status: str | None, category: str | None, governorate: str | None, mine: bool, overdue: bool
) -> None:
    filters = QueueFilters(status, category, governorate, mine, overdue)
    encoded = filters.encode()
    assert QueueFilters.decode(encoded) == filters
    assert len(f"mq:{encoded}:123456789012") <= 64


def test_filters_parse_from_words() -> None:
    assert parse_filters(["status=new", "gov=Anbar", "mine"]) == QueueFilters(
        status="new", governorate="anbar", mine=True
    )
    assert parse_filters(["overdue", "cat=public_services"]) == QueueFilters(
        category="public_services", overdue=True
    )


async def test_pages_follow_the_queue_order_without_gaps_or_repeats(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url) as bot:
        await staff_member(bot, 9501, Role.MODERATOR)
        now = bot.clock.now()
        rng = random.Random(3)
        cases = [
            new_case(
                2000 + n,
                now - timedelta(hours=rng.randint(1, 400)),
                status=rng.choice(STATUSES),
                priority=rng.randint(0, 3),
                governorate=rng.choice(["anbar", "nineveh"]),
                assignee_id=rng.choice([None, 9501]),
            )
            for n in range(47)
        ]
        await seed_cases(bot, cases)
        open_cases = [c for c in cases if c.status in STATUSES[:4]]
        expected = [
            c.reference
            for c in sorted(open_cases, key=lambda c: (-c.priority, c.created_at, c.id))
        ]

        async def walk(filters: QueueFilters) -> list[str]:
            seen: list[str] = []
            after = None
            while True:
                async with bot.db.unit_of_work() as uow:
                    page = await queue_page(uow, 9501, filters, now, after_id=after, page_size=4)
                seen += [line.reference for line in page.lines]
                if page.next_cursor is None:
                    return seen
                after = page.next_cursor

        assert await walk(QueueFilters()) == expected
        anbar_mine = [
            r
            for r, c in zip(
                expected,
                sorted(open_cases, key=lambda c: (-c.priority, c.created_at, c.id)),
                strict=True,
            )
            if c.governorate == "anbar" and c.assignee_id == 9501
        ]
        assert await walk(QueueFilters(governorate="anbar", mine=True)) == anbar_mine
        closed = sorted(
            (c for c in cases if c.status == "closed"),
            key=lambda c: (-c.priority, c.created_at, c.id),
        )
        assert await walk(QueueFilters(status="closed")) == [c.reference for c in closed]
        overdue = [
            c.reference
            for c in sorted(open_cases, key=lambda c: (-c.priority, c.created_at, c.id))
            if c.status == "new" and c.ack_due_at < now
        ]
        assert await walk(QueueFilters(overdue=True)) == overdue


async def test_queue_in_chat_pages_back_and_forth_in_place(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url) as bot:
        moderator = await staff_member(bot, 9502, Role.MODERATOR)
        now = bot.clock.now()
        cases = [new_case(3000 + n, now - timedelta(hours=n + 1)) for n in range(13)]
        await seed_cases(bot, cases)
        moderator.command("/queue status=new")
        first = await moderator.reply(timeout=20)
        oldest = cases[-1].reference
        assert oldest in first.content and cases[0].reference not in first.content
        assert "Received: <b>13</b>" in first.content  # totals by status
        moderator.press(first, text="Next ▶️")
        await bot.idle()
        second = current(fake_api, first)  # the same message, edited in place
        assert cases[0].reference in second.content and oldest not in second.content
        assert "Next ▶️" not in second.button_texts()
        moderator.press(first, text="◀️ Previous")
        await bot.idle()
        again = current(fake_api, first)
        assert oldest in again.content and cases[0].reference not in again.content
        assert "◀️ Previous" not in again.button_texts()
        moderator.press(first, data="mq:zz:1")
        await bot.idle()  # a forged page button: a toast, nothing changes
        assert current(fake_api, first).content == again.content
        assert moderator.last_message().message_id == first.message_id
