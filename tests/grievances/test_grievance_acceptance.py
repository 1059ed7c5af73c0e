"""Acceptance of SPEC §3.4 as a new member would try it, end to end over the fake Bot API."""

from __future__ import annotations

from sqlalchemy import select

from bot.grievances.references import parse_reference
from storage.models import Grievance, GrievanceReporter
from tests.fake_telegram import FakeBotApi
from tests.grievances.test_grievance_steps import (
    choose,
    finish_report,
    grievance_count,
    member_who_consented,
    next_reply,
    reference_in,
    report_until_description,
    running_bot,
    staff_member,
)

MEMBER, OTHER, MODERATOR = 7001, 7002, 9001


async def test_arabic_member_reports_anonymously_by_voice_and_follows_up(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url) as bot:
        moderator = await staff_member(bot, MODERATOR)
        member = await member_who_consented(bot, MEMBER, "ar")

        prompt = await report_until_description(member, category="security", governorate="anbar")
        assert "أخبرنا الآن بما حدث" in prompt.content
        member.send_voice()
        prompt = await next_reply(member)
        assert "وصلنا حتى الآن: تسجيل صوتي واحد." in prompt.content
        confirmation = await finish_report(member, prompt)

        assert "استلمنا بلاغك" in confirmation.content
        reference = reference_in(confirmation.content)
        assert parse_reference(reference) == reference
        assert await grievance_count(bot) == 1

        # The moderator's card: reference and metadata, never who reported it.
        card = await moderator.reply(timeout=20)
        assert reference in card.content
        assert "anonymous" in card.content
        assert str(MEMBER) not in card.content and "Member" not in card.content
        assert str(MEMBER) not in str(card.reply_markup)

        async with bot.db.unit_of_work() as uow:
            grievance = await uow.session.scalar(
                select(Grievance).where(Grievance.reference == reference)
            )
            assert grievance is not None
            assert grievance.media and grievance.media[0]["kind"] == "voice"
            reporter = await uow.session.get(GrievanceReporter, grievance.id)
            assert reporter is not None and not reporter.contactable

        # The member checks /status, in Arabic.
        member.command("/status")
        listing = await next_reply(member)
        assert reference in listing.content and "مُستلَم" in listing.content

        # A staff reply reaches the member in Arabic; the staff member is told it is on its way.
        moderator.command(f"/reply {reference} We have passed this to the governorate office.")
        assert reference in (await moderator.reply(timeout=20)).content
        relayed = await member.reply(timeout=20)
        assert "رد بخصوص بلاغك" in relayed.content
        assert "We have passed this to the governorate office." in relayed.content

        member.command(f"/status {reference.lower()}")
        detail = await next_reply(member)
        assert "We have passed this" in detail.content

        # Another account asking for that reference is told exactly what a guess is told.
        other = await member_who_consented(bot, OTHER, "ar")
        other.command(f"/status {reference}")
        not_found = (await next_reply(other)).content
        other.command("/status GR-2222-2222")
        assert (await next_reply(other)).content == not_found
        assert "لم أجد بلاغًا" in not_found


async def test_a_redelivered_submit_files_one_report(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url) as bot:
        member = await member_who_consented(bot, MEMBER)
        prompt = await report_until_description(member)
        member.send("The clinic has had no doctor for a month.")
        prompt = await next_reply(member)
        prompt = await choose(member, prompt, "~done")
        prompt = await choose(member, prompt, "medium")
        summary = await choose(member, prompt, "anonymous")
        assert "Please check your report" in summary.content

        update_id = member.press(
            summary, data=next(d for _, d in summary.buttons() if d.endswith(":submit"))
        )
        confirmation = await next_reply(member)
        assert "Your report has been received" in confirmation.content
        # Telegram delivers the same update again (e.g. after a lost acknowledgement).
        redelivered = fake_api.calls_to("getUpdates")
        assert redelivered
        original = next(
            u
            for call in redelivered
            for u in call.response.get("result", [])
            if u.get("update_id") == update_id
        )
        fake_api.push_update(original)
        await bot.idle()
        assert await grievance_count(bot) == 1
