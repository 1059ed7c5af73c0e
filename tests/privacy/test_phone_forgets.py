"""The phone forgets (issue 15, point 5): the summary before sending shows the topic, the
area and how many parts were given, never the description or the contact details; after
sending, "remove this conversation from my phone" deletes the member's and the bot's
messages of the report (recorded by the fake Bot API as deleteMessages calls), keeping the
reference message; after Telegram's 48 hours the member is told how to do it themselves."""

from __future__ import annotations

from datetime import timedelta

from tests.fake_telegram import FakeBotApi
from tests.grievances.test_grievance_steps import (
    choose,
    member_who_consented,
    next_reply,
    reference_in,
    report_until_description,
    running_bot,
)
from tests.surveys.test_survey_steps import label, text

DESCRIPTION = "Summary-Qz4 the street generator has been off for ten days"
CONTACT = "+964 781 222 3344"


async def test_the_member_removes_the_report_conversation_and_keeps_the_reference(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url, DEFAULT_LANGUAGE="en") as bot:
        member = await member_who_consented(bot, 7301)
        chat = member.chat_id
        first = max((m.message_id for m in fake_api.messages_to(chat)), default=0) + 1
        prompt = await report_until_description(member, area="Hay al-Jihad")
        member.send(DESCRIPTION)
        prompt = await next_reply(member)
        member.send_voice()
        prompt = await next_reply(member)
        prompt = await choose(member, prompt, "~done")
        prompt = await choose(member, prompt, "medium")
        prompt = await choose(member, prompt, "contactable")
        member.send(CONTACT)
        summary = await next_reply(member)
        assert "Hay al-Jihad" in summary.content and "one text and one voice note" in (
            summary.content
        )
        assert "Summary-Qz4" not in summary.content and "222 3344" not in summary.content
        confirmation = await choose(member, summary, "submit")
        reference = reference_in(confirmation.content)
        await bot.idle()
        fake_api.reset_cursor(chat, to_end=True)  # (a follow-up may come after the reference)

        member.press(confirmation, text=label("en", "grievances.forget.button"))
        done = await next_reply(member)
        assert done.content == text("en", "grievances.forget.done")
        await bot.idle()

        calls = fake_api.calls_to("deleteMessages")
        assert calls and all(call.params["chat_id"] == chat for call in calls)
        flow_ids = set(range(first, confirmation.message_id))
        assert fake_api.deleted_message_ids(chat) == flow_ids
        assert len(flow_ids) >= 12  # the member's messages and the bot's questions
        remaining = [m for m in fake_api.messages_to(chat) if not m.deleted]
        kept = fake_api.get_message(chat, confirmation.message_id)
        assert kept is not None and not kept.deleted and reference in kept.content
        assert kept.buttons() == []  # the button is gone with what it removed
        assert remaining[0].message_id == confirmation.message_id
        assert remaining[-1].message_id == done.message_id


async def test_after_48_hours_the_member_is_told_to_delete_the_messages_in_telegram(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url, DEFAULT_LANGUAGE="en") as bot:
        member = await member_who_consented(bot, 7302)
        prompt = await report_until_description(member)
        member.send("The school roof leaks")
        prompt = await next_reply(member)
        prompt = await choose(member, prompt, "~done")
        prompt = await choose(member, prompt, "low")
        summary = await choose(member, prompt, "anonymous")
        confirmation = await choose(member, summary, "submit")
        await bot.idle()
        fake_api.reset_cursor(member.chat_id, to_end=True)
        bot.clock.advance(timedelta(hours=49))
        member.press(confirmation, text=label("en", "grievances.forget.button"))
        assert (await next_reply(member)).content == text("en", "grievances.forget.too_late")
        await bot.idle()
        assert fake_api.calls_to("deleteMessages") == []
        assert fake_api.deleted_message_ids(member.chat_id) == set()
