"""Acceptance of issue 18's moderation desk with 200 open cases: the staff group gets compact
messages for ordinary cases (the full card and a private alert for an urgent one); a
moderator works through 20 cases (open, take, acknowledge, note, reply, close) with
buttons only, never typing a reference; every copy of a card agrees after every action;
typed Arabic filters work."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.engines.roles import Role
from bot.grievances.notices import queue_staff_cards
from storage.models import Grievance, GrievanceEntry
from tests.fake_telegram import FakeBotApi, SentMessage
from tests.grievances.test_grievance_steps import running_bot, staff_member
from tests.members.test_onboarding_steps import label
from tests.moderation.test_moderation_steps import (
    GROUP_ID,
    card_shows,
    current,
    data_starting,
    desk,
    new_case,
    next_with,
    reply_to,
    seed_cases,
    staff_in_group,
)
from tests.support.harness import BotHarness

MODERATOR, COLLEAGUE, MEMBER = 9801, 9802, 7801
WORKED = 20


async def announce(bot: BotHarness, references: list[str]) -> None:
    current_desk = desk(bot)
    async with bot.db.unit_of_work() as uow:
        for reference in references:
            case_id = await uow.session.scalar(
                select(Grievance.id).where(Grievance.reference == reference)
            )
            assert case_id is not None
            await queue_staff_cards(
                uow,
                case_id,
                bot.clock.now(),
                catalogue=current_desk.catalogue,
                moderator_chat_id=current_desk.moderator_chat_id,
                default_language=current_desk.default_language,
            )
        await uow.commit()


async def case_row(bot: BotHarness, reference: str) -> tuple[str, int | None, bool]:
    """Status, assignee, and whether the acknowledgement time is set."""
    async with bot.db.unit_of_work() as uow:
        row = await uow.session.scalar(select(Grievance).where(Grievance.reference == reference))
        assert row is not None
        return row.status, row.assignee_id, row.acknowledged_at is not None


async def test_a_moderator_works_through_twenty_of_two_hundred_cases_with_buttons_only(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(
        fake_api, database_url, MODERATOR_CHAT_ID=str(GROUP_ID), HIWAR_PER_CHAT_INTERVAL="0"
    ) as bot:
        moderator = await staff_member(bot, MODERATOR, Role.MODERATOR)
        await staff_in_group(bot, COLLEAGUE, Role.MODERATOR)
        now = bot.clock.now()
        cases = [
            new_case(
                5000 + n,
                now - timedelta(minutes=400 - n),
                governorate="anbar" if n % 2 == 0 else "nineveh",
            )
            for n in range(200)
        ]
        cases[-1].urgency = "urgent"
        refs = [case.reference for case in cases]
        await seed_cases(bot, cases, reporter=MEMBER)

        # Announcements sized to urgency: two ordinary cases and an urgent one.
        await announce(bot, [refs[0], refs[1], refs[-1]])
        compact = {}
        for _ in range(3):
            message = await fake_api.next_message(GROUP_ID, timeout=20)
            compact[next(r for r in refs if r in message.content)] = message
        for reference in refs[:2]:
            message = compact[reference]
            assert len(message.buttons()) <= 3 and len(message.content.splitlines()) <= 2
            assert label("ar", "governorate.anbar") in message.content or (
                label("ar", "governorate.nineveh") in message.content
            )
        urgent = compact[refs[-1]]
        assert len(urgent.buttons()) > 3 and "🚨" in urgent.content
        alert = await next_with(fake_api, MODERATOR, "Urgent case")
        assert refs[-1] in alert.content

        # "Open" on a compact message: the content privately, then the live card with actions.
        moderator.press(compact[refs[0]], data=f"gr:case:{refs[0]}")
        private = await next_with(fake_api, MODERATOR, "Assigned to")
        assert data_starting(fake_api, private, "gr:act:ack:")

        # Typed filters in Arabic, with or without hamza and "ال".
        for typed in ("/queue gov=الأنبار", "/queue الانبار"):
            moderator.command(typed)
            page = await next_with(fake_api, MODERATOR, "Queue")
            assert refs[0] in page.content
            assert refs[1] not in page.content  # Nineveh
        moderator.command("/queue")
        queue = await next_with(fake_api, MODERATOR, "Queue")
        assert "Received: <b>200</b>" in queue.content

        for number, reference in enumerate(refs[:WORKED]):
            copies = [queue] + ([private] if number == 0 else [])
            moderator.press(queue, text=f"1. {reference}")
            await card_shows(fake_api, queue, "Assigned to")
            assert reference in current(fake_api, queue).content

            async def agree(
                english: str,
                arabic: str,
                copies: list[SentMessage] = copies,
                reference: str = reference,
            ) -> None:
                for copy in copies:
                    await card_shows(fake_api, copy, english)
                if reference in compact:
                    await card_shows(fake_api, compact[reference], arabic)

            moderator.press(queue, data=data_starting(fake_api, queue, "gr:act:assign:"))
            await agree(f"Staff {MODERATOR}", f"Staff {MODERATOR}")
            moderator.press(queue, data=data_starting(fake_api, queue, "gr:act:ack:"))
            await agree("Acknowledged", label("ar", "grievances.status.acknowledged"))
            for verb, prompt_text, answer in (
                ("note", "note for case", "Called the district office."),
                ("reply", "answer to the member", "The office will call you."),
                ("close", "reason for closing", "The office fixed it."),
            ):
                moderator.press(queue, data=data_starting(fake_api, queue, f"gr:act:{verb}:"))
                prompt = await next_with(fake_api, MODERATOR, prompt_text)
                await bot.idle()
                reply_to(fake_api, moderator, prompt, answer)
                await bot.idle()
            await agree("Closed", label("ar", "grievances.status.closed"))
            for copy in copies:  # a closed card: final state, no stale action
                shown = current(fake_api, copy)
                assert "gr:act:" not in " ".join(d for _, d in shown.buttons())
            assert await case_row(bot, reference) == ("closed", MODERATOR, True)
            moderator.press(queue, data=data_starting(fake_api, queue, "mqb:"))
            await card_shows(fake_api, queue, "Received: <b>180</b>" if number == 19 else "Queue")

        await card_shows(fake_api, queue, "Received: <b>180</b>")
        async with bot.db.unit_of_work() as uow:
            kinds = list(
                await uow.session.scalars(
                    select(GrievanceEntry.kind)
                    .join(Grievance, Grievance.id == GrievanceEntry.grievance_id)
                    .where(Grievance.reference == refs[5])
                )
            )
        assert sorted(kinds) == ["note", "reply", "status", "status"]
