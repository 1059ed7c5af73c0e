"""A member's answer to staff reaches the case (issue 18): a Telegram reply to a relayed staff
message, or text sent while a case awaits the member, is attached after one tap; cancelling
keeps nothing; a reply about a closed report points to /appeal."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy import text as sql

from bot.engines.roles import Role
from bot.members.erasure import erase_member
from storage import outbox
from storage.models import FlowState, GrievanceEntry, SentMessageLink
from storage.sealing import new_key
from tests.fake_telegram import FakeBotApi, SentMessage, SimulatedUser
from tests.grievances.test_grievance_steps import (
    button_data,
    file_text_report,
    member_who_consented,
    next_reply,
    reference_in,
    running_bot,
    staff_member,
)
from tests.members.test_onboarding_steps import label, text
from tests.moderation.test_moderation_steps import desk, next_with, reply_to
from tests.support.harness import BotHarness

MODERATOR = 9851


async def additions(bot: BotHarness) -> list[str | None]:
    """What the member added to cases, opened."""
    cipher = desk(bot).cipher
    async with bot.db.unit_of_work() as uow:
        rows = await uow.session.scalars(
            select(GrievanceEntry.text)
            .where(GrievanceEntry.kind == "addition")
            .order_by(GrievanceEntry.id)
        )
        return [cipher.open_optional(row) for row in rows]


async def member_has_flow(bot: BotHarness, user_id: int) -> bool:
    async with bot.db.unit_of_work() as uow:
        count = await uow.session.scalar(
            select(func.count()).select_from(FlowState).where(FlowState.user_id == user_id)
        )
        return bool(count)


async def relayed(
    bot: BotHarness, moderator: SimulatedUser, member: SimulatedUser, reference: str, words: str
) -> SentMessage:
    """The moderator answers with /reply; returns the message the member got."""
    moderator.command(f"/reply {reference} {words}")
    await next_with(bot.api, moderator.chat_id, "on its way")
    message = await next_reply(member)
    assert words in message.content
    await bot.idle()  # the sender has recorded which message it was
    return message


async def test_a_reply_to_a_relayed_message_is_attached_after_one_tap(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url, DATA_KEY=new_key()) as bot:
        moderator = await staff_member(bot, MODERATOR, Role.MODERATOR)
        member = await member_who_consented(bot, 7851)
        reference = reference_in((await file_text_report(member, "The clinic is shut.")).content)
        await next_with(fake_api, MODERATOR, reference)  # the card
        question = await relayed(bot, moderator, member, reference, "Which clinic is it?")
        assert "choose Reply" in question.content  # the member is told how to answer

        reply_to(fake_api, member, question, "The one on Al-Rasheed street.")
        prompt = await next_reply(member)
        assert prompt.content != text("en", "flow.no_flow_hint")
        assert reference in prompt.content
        labels = [caption for caption, _ in prompt.buttons()]
        assert labels == [label("en", "grievances.answer_attach"), label("en", "flow.cancel")]
        assert await additions(bot) == []  # nothing is attached before the tap

        member.press(prompt, data=button_data(prompt, "attach"))
        saved = await next_reply(member)
        assert saved.content == text("en", "grievances.addition_saved", reference=reference)
        assert await additions(bot) == ["The one on Al-Rasheed street."]
        assert not await member_has_flow(bot, 7851)

        # Staff are told like for /addinfo, and the case shows what the member wrote.
        alert = await next_with(fake_api, MODERATOR, "added information")
        assert reference in alert.content
        moderator.press(alert, data=f"gr:case:{reference}")
        await next_with(fake_api, MODERATOR, "The one on Al-Rasheed street.")

        # A second reply to the same message, cancelled: nothing is kept.
        reply_to(fake_api, member, question, "Actually, never mind.")
        prompt = await next_reply(member)
        member.press(prompt, data=button_data(prompt, "~cancel"))
        cancelled = await next_reply(member)
        assert cancelled.content == text("en", "grievances.answer_cancelled")
        assert await additions(bot) == ["The one on Al-Rasheed street."]
        assert not await member_has_flow(bot, 7851)

        # Weeks later, after the outbox has forgotten the chat of its rows, the reply still
        # finds the case: the link was kept, under a sealed key.
        bot.clock.advance(timedelta(days=20))
        async with bot.db.unit_of_work() as uow:
            await outbox.scrub_finished(uow.session, bot.clock.now())
            await uow.commit()
            links = await uow.session.scalar(select(func.count()).select_from(SentMessageLink))
            stored = await uow.session.scalar(sql("SELECT lookup_key FROM sent_message_links"))
        assert links == 1  # the relayed reply (cards to staff are not linked)
        assert stored is not None and "7851" not in stored  # the chat is hashed and sealed
        reply_to(fake_api, member, question, "It is still shut.")
        prompt = await next_reply(member)
        assert reference in prompt.content and "attach" in str(prompt.buttons())
        member.press(prompt, data=button_data(prompt, "~cancel"))
        await next_reply(member)

        # /deletemydata: the links from the member's chat go with the reporter link.
        async with bot.db.unit_of_work() as uow:
            await erase_member(uow, 7851, bot.clock.now())
            await uow.commit()
        async with bot.db.unit_of_work() as uow:
            links = await uow.session.scalar(select(func.count()).select_from(SentMessageLink))
        assert links == 0
        reply_to(fake_api, member, question, "Hello?")
        assert reference not in (await next_reply(member)).content


async def test_text_while_a_case_awaits_the_member_is_offered_to_it_in_arabic(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url) as bot:
        moderator = await staff_member(bot, MODERATOR, Role.MODERATOR)
        member = await member_who_consented(bot, 7852, language="ar")
        reference = reference_in((await file_text_report(member, "انقطاع الماء.")).content)
        await next_with(fake_api, MODERATOR, reference)
        await relayed(bot, moderator, member, reference, "منذ متى؟")

        member.send("منذ أسبوع")  # not a Telegram reply: the case awaits an answer
        prompt = await next_reply(member)
        assert reference in prompt.content and "هل تريد إضافة هذا" in prompt.content
        labels = [caption for caption, _ in prompt.buttons()]
        assert labels == [label("ar", "grievances.answer_attach"), label("ar", "flow.cancel")]
        member.send("وما زال مقطوعًا")  # a second message joins the first
        prompt = await next_reply(member)
        assert "نصّان" in prompt.content  # two texts so far
        member.press(prompt, data=button_data(prompt, "attach"))
        saved = await next_reply(member)
        assert saved.content == text("ar", "grievances.addition_saved", reference=reference)
        assert await additions(bot) == ["منذ أسبوع\nوما زال مقطوعًا"]

        # Answered: the next stray text is not offered to the case again.
        member.send("شكرًا")
        assert (await next_reply(member)).content == text("ar", "flow.no_flow_hint")


async def test_a_reply_about_a_closed_report_points_to_appeal_and_strangers_get_the_hint(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url) as bot:
        moderator = await staff_member(bot, MODERATOR, Role.MODERATOR)
        member = await member_who_consented(bot, 7853)
        other = await member_who_consented(bot, 7854)
        reference = reference_in((await file_text_report(member, "Road blocked.")).content)
        await next_with(fake_api, MODERATOR, reference)
        question = await relayed(bot, moderator, member, reference, "Is it open now?")
        moderator.command(f"/close {reference} Reopened by the council.")
        closed = await next_reply(member)
        assert reference in closed.content
        await bot.idle()

        reply_to(fake_api, member, question, "Yes, thank you.")
        answer = await next_reply(member)
        assert answer.content == text(
            "en", "grievances.answer_closed", reference=reference, appeal_days=30
        )
        assert await additions(bot) == [] and not await member_has_flow(bot, 7853)

        # Someone else's reply to a message that is not about a report of theirs.
        other.send("hello")
        hint = await next_reply(other)
        assert hint.content == text("en", "flow.no_flow_hint")
        reply_to(fake_api, other, hint, "is this mine?")
        assert (await next_reply(other)).content == text("en", "flow.no_flow_hint")
