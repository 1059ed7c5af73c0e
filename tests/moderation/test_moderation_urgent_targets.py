"""Service levels by urgency (issue 18): an urgent case past its acknowledgement target is
escalated once per person to the moderators on duty and the admins; the referral directory
reaches members at risk once the organisation has set it, and while it holds only example
entries the bot says so at start-up, in its log and to the admins."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.engines.roles import Role
from tests.fake_telegram import FakeBotApi
from tests.grievances.test_grievance_steps import (
    file_text_report,
    finish_report,
    member_who_consented,
    next_reply,
    reference_in,
    report_until_description,
    running_bot,
    staff_member,
)
from tests.members.test_onboarding_steps import text
from tests.moderation.test_moderation_steps import GROUP_ID, next_with, wait_until
from tests.support.harness import SHIPPED_REFERRALS

ON_DUTY, OFF_DUTY, ADMIN, MEMBER = 9861, 9862, 9863, 7861
ESCALATED = "past its target"
PLACEHOLDER = "example entries"
PLACEHOLDER_AR = "دليل جهات الإحالة"
NUDGED = "ولم يتولّه أحد"  # the group's nudge (a card may show ⏰ once overdue, too)


async def test_an_urgent_case_past_its_target_is_escalated_once_to_on_duty_staff_and_admins(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url, MODERATOR_CHAT_ID=str(GROUP_ID)) as bot:
        await staff_member(bot, ON_DUTY, Role.MODERATOR)
        resting = await staff_member(bot, OFF_DUTY, Role.MODERATOR)
        await staff_member(bot, ADMIN, Role.ADMIN)
        resting.command("/duty off")
        await next_reply(resting)
        member = await member_who_consented(bot, MEMBER)
        prompt = await report_until_description(member)
        member.send("The water at the school is poisoned, children are sick.")
        prompt = await next_reply(member)
        confirmation = await finish_report(member, prompt, urgency="urgent")
        urgent = reference_in(confirmation.content)
        await next_reply(member)  # the referral directory
        ordinary = reference_in((await file_text_report(member, "Potholes.")).content)
        await bot.idle()

        # Past the urgent target (2 h): escalated to the moderator on duty and the admin.
        bot.clock.advance(timedelta(hours=2, minutes=5))
        for person in (ON_DUTY, ADMIN):
            escalation = await next_with(fake_api, person, ESCALATED)
            assert urgent in escalation.content
            assert [d for _, d in escalation.buttons()] == [f"gr:case:{urgent}"]

        def group_nudges() -> int:
            return sum(
                1
                for m in fake_api.messages_to(GROUP_ID)
                if NUDGED in m.content and urgent in m.content
            )

        async def nudged(times: int) -> bool:
            return group_nudges() >= times

        await wait_until(lambda: nudged(1))
        # Every send recorded before the clock jumps again (a jump of hours while a send is
        # still being recorded would expire its claim: that is the crash window, not this).
        await bot.idle()
        # Another urgent target later the group is nudged again; nobody is escalated twice.
        bot.clock.advance(timedelta(hours=2, minutes=5))
        await wait_until(lambda: nudged(2))
        await bot.idle()
        for person in (ON_DUTY, ADMIN):
            told = [m for m in fake_api.messages_to(person) if ESCALATED in m.content]
            assert len(told) == 1
        assert not [m for m in fake_api.messages_to(OFF_DUTY) if ESCALATED in m.content]

        # An ordinary case past its own target (48 h) is nudged, never escalated.
        bot.clock.advance(timedelta(hours=48))

        async def ordinary_nudged() -> bool:
            return any(
                NUDGED in m.content and ordinary in m.content
                for m in fake_api.messages_to(GROUP_ID)
            )

        await wait_until(ordinary_nudged)
        await bot.idle()
        for person in (ON_DUTY, OFF_DUTY, ADMIN):
            assert not [
                m
                for m in fake_api.messages_to(person)
                if ESCALATED in m.content and ordinary in m.content
            ]


async def test_a_configured_directory_reaches_members_at_risk_and_nobody_is_warned(
    fake_api: FakeBotApi, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with running_bot(fake_api, database_url, ADMIN_IDS=str(ADMIN)) as bot:
        member = await member_who_consented(bot, MEMBER, "ar")
        prompt = await report_until_description(member, category="violence_recruitment")
        member.send("هدّدوا أخي بالقتل")
        prompt = await next_reply(member)
        await finish_report(member, prompt, urgency="urgent")
        referrals = await next_reply(member)
        assert "خط الحماية التجريبي" in referrals.content and "+964 770 555 0101" in (
            referrals.content
        )
        await bot.idle()
        assert not [m for m in fake_api.messages_to(ADMIN) if PLACEHOLDER_AR in m.content]
    assert PLACEHOLDER not in caplog.text


async def test_the_placeholder_directory_is_logged_and_told_to_admins_once_a_day(
    fake_api: FakeBotApi, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with running_bot(
        fake_api, database_url, ADMIN_IDS=str(ADMIN), HIWAR_REFERRALS_FILE=SHIPPED_REFERRALS
    ) as bot:
        notice = await fake_api.next_message(ADMIN, timeout=20)
        assert notice.content == text(
            "ar", "grievances.directory_placeholder", file_name=SHIPPED_REFERRALS
        )
        assert f"referral directory ({SHIPPED_REFERRALS}) holds only example entries" in (
            caplog.text
        )

        def notices() -> list[str]:
            return [m.content for m in fake_api.messages_to(ADMIN) if PLACEHOLDER_AR in m.content]

        await bot.idle()  # the notice's sending recorded, then a restart
        await bot.restart()  # the same day: not again
        await bot.idle()
        assert notices() == [notice.content]
        bot.clock.advance(timedelta(days=1))
        await bot.restart()
        await next_with(fake_api, ADMIN, PLACEHOLDER_AR)  # (the daily digest comes too)
        assert notices() == [notice.content, notice.content]

        # A member at risk gets the plain statement, never an example number.
        member = await member_who_consented(bot, MEMBER)
        prompt = await report_until_description(member, category="violence_recruitment")
        member.send("They threatened to kill my brother.")
        prompt = await next_reply(member)
        await finish_report(member, prompt, urgency="urgent")
        statement = await next_reply(member)
        assert "emergency services" in statement.content and "000 0000" not in statement.content


async def test_a_safeguarding_case_is_escalated_only_to_safeguarding_staff_and_admins(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url, MODERATOR_CHAT_ID=str(GROUP_ID)) as bot:
        await staff_member(bot, ON_DUTY, Role.MODERATOR)
        await staff_member(bot, OFF_DUTY, Role.SAFEGUARDING)  # on duty too (the default)
        await staff_member(bot, ADMIN, Role.ADMIN)
        member = await member_who_consented(bot, MEMBER)
        prompt = await report_until_description(member, category="gbv")
        member.send("My neighbour is being beaten at home.")
        prompt = await next_reply(member)
        confirmation = await finish_report(member, prompt, urgency="urgent")
        reference = reference_in(confirmation.content)
        await bot.idle()
        bot.clock.advance(timedelta(hours=2, minutes=5))
        for person in (OFF_DUTY, ADMIN):
            assert reference in (await next_with(fake_api, person, ESCALATED)).content
        await bot.idle()
        assert not [m for m in fake_api.messages_to(ON_DUTY) if ESCALATED in m.content]
