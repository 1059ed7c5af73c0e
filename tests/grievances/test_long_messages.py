"""Telegram's length limits end to end (issue 14, point 6): what the bot composes always
arrives whole, in pieces that each fit 4,096 UTF-16 code units, marked "(continued)"."""

from __future__ import annotations

from bot.engines.message_length import MESSAGE_LIMIT, split_html, visible_length, visible_text
from tests.fake_telegram import FakeBotApi, SentMessage
from tests.grievances.test_grievance_steps import (
    finish_report,
    member_who_consented,
    next_reply,
    reference_in,
    report_until_description,
    running_bot,
    staff_member,
)
from tests.moderation.test_moderation_steps import next_with, reply_to

MODERATOR, MEMBER = 9601, 7601
CONTINUED = {"ar": "(تابع)", "en": "(continued)"}


def assert_fits(messages: list[SentMessage]) -> None:
    for message in messages:
        assert visible_length(message.content) <= MESSAGE_LIMIT, visible_length(message.content)


async def test_status_with_three_long_arabic_staff_replies_arrives_whole(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url) as bot:
        moderator = await staff_member(bot, MODERATOR)
        member = await member_who_consented(bot, MEMBER, "ar")
        await report_until_description(member)
        member.send("انقطاع الماء في الحلة منذ أسبوع.")
        confirmation = await finish_report(member, await next_reply(member))
        reference = reference_in(confirmation.content)
        card = await next_with(fake_api, MODERATOR, reference)

        replies = [f"الرد {number}: " + "ع" * 1400 for number in ("الأول", "الثاني", "الثالث")]
        for text in replies:
            await bot.idle()
            reply_to(fake_api, moderator, card, text)
            relayed = await next_reply(member)
            assert text in relayed.content

        await bot.idle()
        before = len(fake_api.messages_to(MEMBER))
        member.command(f"/status {reference}")
        await bot.idle()
        answer = fake_api.messages_to(MEMBER)[before:]
        assert len(answer) >= 2, "three replies of 1,400 characters do not fit one message"
        assert_fits(answer)
        shown = "".join(visible_text(message.content) for message in answer)
        for text in replies:
            assert text in shown.replace("\n", "")
        assert all(
            visible_text(message.content).startswith(CONTINUED["ar"]) for message in answer[1:]
        )
        # The buttons (add information) come with the last piece.
        assert answer[-1].buttons() and not answer[0].buttons()


async def test_open_the_case_with_a_description_over_the_limit_shows_everything(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url) as bot:
        moderator = await staff_member(bot, MODERATOR)
        member = await member_who_consented(bot, MEMBER, "en")
        await report_until_description(member)
        # Emoji count twice: 2,000 of them are 4,000 code units, as much as one message holds.
        parts = ["🚰" * 2000, "💧" * 2000]
        for part in parts:
            member.send(part)
            prompt = await next_reply(member)
        confirmation = await finish_report(member, prompt)
        reference = reference_in(confirmation.content)
        card = await next_with(fake_api, MODERATOR, reference)

        await bot.idle()
        before = len(fake_api.messages_to(MODERATOR))
        moderator.press(card, text="Open the case")
        await bot.idle()
        shown = fake_api.messages_to(MODERATOR)[before:]
        assert_fits(shown)
        everything = "".join(message.content for message in shown)
        assert everything.count("🚰") == 2000 and everything.count("💧") == 2000
        assert any(visible_text(message.content).startswith(CONTINUED["en"]) for message in shown)
        assert reference in shown[-1].content  # the live card comes last, after all the text


def test_split_keeps_tags_balanced_and_counts_utf16() -> None:
    text = "<b>" + "😀" * 3000 + "</b>\n<i>" + "x " * 2000 + "</i>"
    pieces = split_html(text, "<i>(continued)</i>")
    assert len(pieces) >= 2
    for piece in pieces:
        assert visible_length(piece) <= MESSAGE_LIMIT
        assert piece.count("<b>") == piece.count("</b>")
        assert piece.count("<i>") == piece.count("</i>")
    joined = "".join(visible_text(piece) for piece in pieces)
    assert joined.count("😀") == 3000 and joined.count("x") == 2000
