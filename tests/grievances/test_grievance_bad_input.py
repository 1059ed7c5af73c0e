"""Bad input during and after /report: every case gets a clear answer and loses nothing."""

from __future__ import annotations

from sqlalchemy import select

from bot.engines.field_encryption import active_cipher
from storage.models import FlowState, Grievance
from tests.fake_telegram import FakeBotApi, SimulatedUser, TgChat
from tests.grievances.test_grievance_steps import (
    choose,
    finish_report,
    grievance_count,
    member_who_consented,
    next_reply,
    reference_in,
    report_until_description,
    running_bot,
)
from tests.support.harness import BotHarness

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


async def draft_of(bot: BotHarness, user_id: int) -> dict[str, object]:
    async with bot.db.unit_of_work() as uow:
        state = await uow.session.get(FlowState, user_id)
        assert state is not None
        return dict(state.data)


async def test_odd_messages_during_the_description_change_nothing(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url) as bot:
        member = await member_who_consented(bot, 7301)
        prompt = await report_until_description(member)
        notice = await choose(member, prompt, "~done")
        assert "Please tell us what happened first" in notice.content
        prompt = await next_reply(member)
        member.send("   ")
        assert "empty" in (await next_reply(member)).content
        prompt = await next_reply(member)
        member.send("The mayor's office refuses to register our shop.")
        first = await next_reply(member)
        before = await draft_of(bot, 7301)

        for send in (member.send_sticker, member.send_location, member.send_contact):
            send()
            assert "cannot read that kind of message" in (await next_reply(member)).content
            assert "So far we have: one text." in (await next_reply(member)).content
        for send in (member.send_document, member.send_video):
            send()
            assert "text, voice notes and photos" in (await next_reply(member)).content
            assert "So far we have: one text." in (await next_reply(member)).content
        member.edit(first.message_id - 1, "an edited text")
        assert "not edits" in (await next_reply(member)).content
        member.press(first, data=next(d for _, d in first.buttons() if d.endswith("~back")))
        area_prompt = await next_reply(member)
        assert "district or area" in area_prompt.content
        member.press(prompt, data=next(d for _, d in prompt.buttons() if d.endswith("~done")))
        assert "earlier question" in (await next_reply(member)).content
        await next_reply(member)
        assert (await draft_of(bot, 7301))["parts"] == before["parts"]


async def test_a_ten_thousand_character_description_split_by_telegram_is_joined(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url) as bot:
        member = await member_who_consented(bot, 7302)
        prompt = await report_until_description(member)
        text = "".join(f"{n:05d} " for n in range(10_000 // 6)).ljust(10_000, "x")
        pieces = [text[:4096], text[4096:8192], text[8192:]]
        for piece in pieces:
            member.send(piece)
            prompt = await next_reply(member)
        member.forward("Forwarded from the neighbourhood group")
        prompt = await next_reply(member)
        assert "origin" in (await next_reply(member)).content or "originally" in prompt.content
        confirmation = await finish_report(member, prompt)
        reference = reference_in(confirmation.content)
        async with bot.db.unit_of_work() as uow:
            grievance = await uow.session.scalar(
                select(Grievance).where(Grievance.reference == reference)
            )
            assert grievance is not None
            stored = active_cipher().open(grievance.description)
        assert stored == "\n".join([*pieces, "Forwarded from the neighbourhood group"])
        assert "Someone Else" not in stored


async def test_report_in_a_group_points_to_the_private_chat(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url) as bot:
        await member_who_consented(bot, 7303)
        group = TgChat(-100999, type="supergroup", title="Neighbourhood")
        member = SimulatedUser(fake_api, bot.user(7303).user, chat=group)
        member.command("/report")
        reply = await next_reply(member)
        assert any("t.me/hiwar_test_bot" in str(b) for b in reply.reply_markup["inline_keyboard"])
        await bot.idle()
        async with bot.db.unit_of_work() as uow:
            assert await uow.session.get(FlowState, 7303) is None


async def test_references_typed_loosely_work_and_wrong_ones_are_not_found(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url) as bot:
        member = await member_who_consented(bot, 7304, "ar")
        prompt = await report_until_description(member)
        member.send("الطريق إلى المدرسة مغلق منذ شهر")
        prompt = await next_reply(member)
        reference = reference_in((await finish_report(member, prompt)).content)

        member.command(f"/status {reference.lower().replace('-', ' ')}")
        assert reference in (await next_reply(member)).content
        member.command(f"/status {reference.translate(ARABIC_INDIC)}")
        assert reference in (await next_reply(member)).content
        wrong = reference[:-1] + ("A" if reference[-1] != "A" else "B")
        not_found = []
        for junk in (wrong, "GR-", "٣٣٣", "<b>x</b>", "GR-" + "Z" * 200):
            member.command(f"/status {junk}")
            not_found.append((await next_reply(member)).content)
        assert len(set(not_found)) == 1 and "لم أجد بلاغًا" in not_found[0]
        member.command(f"/addinfo {wrong}")
        assert (await next_reply(member)).content == not_found[0]
        member.command("/addinfo")
        assert "/addinfo" in (await next_reply(member)).content
        assert await grievance_count(bot) == 1
