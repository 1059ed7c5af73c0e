"""Service levels and the note/reply prompts (SPEC §4.1): overdue nudges, the daily digest,
a reply to a member who blocked the bot, and answering a card's prompt by replying to it."""

from __future__ import annotations

from datetime import timedelta

from bot.engines.roles import Role
from tests.fake_telegram import FakeBotApi
from tests.grievances.test_grievance_steps import (
    file_text_report,
    member_who_consented,
    next_reply,
    reference_in,
    running_bot,
    staff_member,
)
from tests.moderation.test_moderation_steps import (
    GROUP_ID,
    audit_actions,
    data_starting,
    next_with,
    reply_to,
    staff_in_group,
    wait_until,
)


async def test_overdue_cases_are_nudged_and_the_digest_reaches_the_group(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url, MODERATOR_CHAT_ID=str(GROUP_ID)) as bot:
        await staff_in_group(bot, 9701, Role.MODERATOR)
        assignee = await staff_member(bot, 9702, Role.MODERATOR)
        member = await member_who_consented(bot, 7701)
        first = reference_in((await file_text_report(member, "Water cut for a week.")).content)
        second = reference_in((await file_text_report(member, "Power cut again.")).content)
        await bot.idle()
        assignee.command(f"/case {second}")
        card = await assignee.reply(timeout=20)
        assignee.press(card, data=data_starting(fake_api, card, "gr:act:assign:"))
        await bot.idle()

        bot.clock.advance(timedelta(hours=49))
        mine = await next_with(fake_api, 9702, second)
        assert "assigned to you" in mine.content
        group = [m.content for m in fake_api.messages_to(GROUP_ID)]

        async def nudged_and_digested() -> bool:
            group[:] = [m.content for m in fake_api.messages_to(GROUP_ID)]
            return any("⏰" in c and first in c for c in group) and any(
                "الملخّص اليومي" in c for c in group
            )

        await wait_until(nudged_and_digested)
        assert not any("⏰" in c and second in c for c in group)  # the assignee had it
        digest = next(c for c in group if "الملخّص اليومي" in c)
        assert "\u2068٢\u2069" in digest  # two overdue cases


async def test_a_reply_to_a_member_who_blocked_the_bot_is_reported_as_not_delivered(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url) as bot:
        moderator = await staff_member(bot, 9711, Role.MODERATOR)
        member = await member_who_consented(bot, 7711)
        reference = reference_in((await file_text_report(member, "Checkpoint trouble.")).content)
        await moderator.reply(timeout=20)  # the card
        member.block_bot()
        await bot.idle()
        moderator.command(f"/reply {reference} Can you tell us more?")
        await next_with(fake_api, 9711, "on its way")
        notice = await next_with(fake_api, 9711, "could not be delivered")
        assert reference in notice.content
        assert ("grievance.reply", 9711) in await audit_actions(bot, reference)


async def test_note_and_reply_buttons_ask_for_the_text_as_a_reply(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url, MODERATOR_CHAT_ID=str(GROUP_ID)) as bot:
        amal = await staff_in_group(bot, 9721, Role.MODERATOR)
        member = await member_who_consented(bot, 7721)
        reference = reference_in((await file_text_report(member, "School closed.")).content)
        await fake_api.next_message(GROUP_ID, timeout=20)  # the compact announcement
        amal.command(f"/case {reference}")
        card = await next_with(fake_api, GROUP_ID, "Assigned to")

        amal.press(card, data=data_starting(fake_api, card, "gr:act:note:"))
        prompt = await next_with(fake_api, GROUP_ID, "note for case")
        await bot.idle()  # the sender has recorded which message the prompt is
        reply_to(fake_api, amal, prompt, "Spoke to the school principal.")
        await next_with(fake_api, GROUP_ID, "Note kept")
        assert ("grievance.note", 9721) in await audit_actions(bot, reference)

        await bot.idle()
        amal.press(card, data=data_starting(fake_api, card, "gr:act:reply:"))
        prompt = await next_with(fake_api, GROUP_ID, "answer to the member")
        await bot.idle()
        reply_to(fake_api, amal, prompt, "The school reopens on Sunday.")
        relayed = await next_reply(member)
        assert "The school reopens on Sunday." in relayed.content

        # Someone without a moderator role replying to a card is left alone.
        outsider = await staff_in_group(bot, 9722, Role.ORGANISER)
        reply_to(fake_api, outsider, card, "hello")
        await bot.idle()
        assert not [m for m in member.messages() if "hello" in m.content]
        notes = [a for a, _ in await audit_actions(bot, reference) if a == "grievance.note"]
        assert len(notes) == 1
