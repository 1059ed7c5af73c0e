"""After /report: editing before sending, safety flags and referrals, safeguarding cards,
adding information, appeals, status notifications and the hourly limit."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.engines.roles import Role
from bot.grievances.cases import change_status
from storage.models import Grievance, GrievanceEntry
from tests.fake_telegram import FakeBotApi
from tests.grievances.test_grievance_steps import (
    choose,
    file_text_report,
    finish_report,
    grievance_count,
    member_who_consented,
    next_reply,
    reference_in,
    report_until_description,
    running_bot,
    staff_member,
)
from tests.support.harness import SHIPPED_REFERRALS


async def test_member_edits_a_field_on_the_summary_and_nothing_else_changes(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url) as bot:
        member = await member_who_consented(bot, 7201)
        prompt = await report_until_description(member, area="Al-Zubair")
        member.send("No electricity in our street for ten days.")
        prompt = await next_reply(member)
        prompt = await choose(member, prompt, "~done")
        prompt = await choose(member, prompt, "medium")
        summary = await choose(member, prompt, "anonymous")
        assert "Basra" in summary.content and "Al-Zubair" in summary.content
        prompt = await choose(member, summary, "edit")
        prompt = await choose(member, prompt, "governorate")
        summary = await choose(member, prompt, "najaf")
        assert "Najaf" in summary.content and "one text" in summary.content
        assert "No electricity" not in summary.content  # the phone keeps no description
        confirmation = await choose(member, summary, "submit")
        reference = reference_in(confirmation.content)
        async with bot.db.unit_of_work() as uow:
            grievance = await uow.session.scalar(
                select(Grievance).where(Grievance.reference == reference)
            )
            assert grievance is not None
            assert (grievance.governorate, grievance.urgency) == ("najaf", "medium")


async def test_urgent_and_risky_reports_alert_staff_and_show_referrals(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(
        fake_api, database_url, MODERATOR_CHAT_ID="-100555", HIWAR_REFERRALS_FILE=SHIPPED_REFERRALS
    ) as bot:
        member = await member_who_consented(bot, 7202, "ar")
        prompt = await report_until_description(member, category="violence_recruitment")
        member.send("رجال مسلحون هدّدوا أخي وقالوا إنهم سيجنّدونه بالقوّة")
        prompt = await next_reply(member)
        confirmation = await finish_report(member, prompt, urgency="urgent")
        assert "اهتمام فوري" in confirmation.content
        referrals = await next_reply(member)
        # The shipped directory holds only example entries: none of them reaches the member,
        # who gets a plain statement instead of placeholder numbers.
        assert "مثال" not in referrals.content and "000 0000" not in referrals.content
        assert "أُبلغ فريقنا" in referrals.content
        card = await fake_api.next_message(-100555, timeout=20)
        assert "🚨" in card.content and reference_in(confirmation.content) in card.content
        assert "كلمات خطر" in card.content  # the group is addressed in DEFAULT_LANGUAGE (ar)
        async with bot.db.unit_of_work() as uow:
            grievance = await uow.session.scalar(select(Grievance))
            assert grievance is not None and "threat" in grievance.risk_flags
            assert grievance.priority == 3
            # An urgent report is promised acknowledgement within the urgent target (2 h).
            assert grievance.ack_due_at - grievance.created_at == timedelta(hours=2)


async def test_safeguarding_cards_show_only_reference_category_and_urgency_to_the_group(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(
        fake_api, database_url, MODERATOR_CHAT_ID="-100777", DEFAULT_LANGUAGE="en"
    ) as bot:
        safeguarder = await staff_member(bot, 9301, Role.SAFEGUARDING)
        moderator = await staff_member(bot, 9302, Role.MODERATOR)
        member = await member_who_consented(bot, 7203)
        prompt = await report_until_description(member, category="gbv", area="Hay Al-Jamiaa")
        member.send("My husband's brother beats me when I go to the market.")
        prompt = await next_reply(member)
        reference = reference_in((await finish_report(member, prompt)).content)

        group_card = await fake_api.next_message(-100777, timeout=20)
        assert reference in group_card.content and "Gender-based violence" in group_card.content
        assert (
            "Basra" not in group_card.content and "only safeguarding staff" in group_card.content
        )
        private_card = await safeguarder.reply(timeout=20)
        assert "Basra" in private_card.content

        # A plain moderator pressing "open" is refused; the safeguarding officer gets the case.
        moderator.press(group_card, text="Open the case")
        await bot.idle()
        assert moderator.messages() == []
        safeguarder.press(private_card, text="Open the case")
        header = await safeguarder.reply(timeout=20)
        assert reference in header.content and "anonymous" in header.content
        description = await safeguarder.reply(timeout=20)
        assert "beats me" in description.content
        moderator.command(f"/reply {reference} hello")
        assert "only safeguarding staff" in (await moderator.reply(timeout=20)).content


async def test_member_adds_information_and_appeals_a_closed_report(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url, DEFAULT_LANGUAGE="en") as bot:
        moderator = await staff_member(bot, 9401)
        member = await member_who_consented(bot, 7204)
        reference = reference_in((await file_text_report(member, "Exam results withheld")).content)
        await moderator.reply(timeout=20)  # the card

        member.command(f"/status {reference}")
        detail = await next_reply(member)
        member.press(detail, text="Add information")
        prompt = await next_reply(member)
        member.send_photo(caption="The notice on the school door")
        prompt = await next_reply(member)
        assert "one text and one photo" in prompt.content
        saved = await choose(member, prompt, "~done")
        assert "added to report" in saved.content
        assert "added information" in (await moderator.reply(timeout=20)).content

        async with bot.db.unit_of_work() as uow:
            await change_status(
                uow, reference, "closed", 9401, bot.clock.now(), "Resolved locally"
            )
            await uow.commit()
        notice = await member.reply(timeout=20)
        assert "has been closed" in notice.content and "Reason: Resolved locally" in notice.content
        assert "/appeal" in notice.content  # the closure notice says how to appeal

        member.command(f"/addinfo {reference}")
        assert "no longer open" in (await next_reply(member)).content
        member.command(f"/appeal {reference}")
        prompt = await next_reply(member)
        member.send_voice()
        prompt = await next_reply(member)
        assert "reopened for review" in (await choose(member, prompt, "~done")).content
        member.command(f"/appeal {reference}")
        assert "still open" in (await next_reply(member)).content
        async with bot.db.unit_of_work() as uow:
            grievance = await uow.session.scalar(select(Grievance))
            assert grievance is not None and grievance.status == "in_review"
            kinds = list(await uow.session.scalars(select(GrievanceEntry.kind)))
            assert sorted(kinds) == ["addition", "appeal", "status"]


async def test_the_hourly_limit_is_said_kindly_and_a_draft_is_never_lost(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url, HIWAR_REPORTS_PER_HOUR="2") as bot:
        member = await member_who_consented(bot, 7205)
        await file_text_report(member, "First")
        # A draft in progress survives the member typing /report again.
        prompt = await report_until_description(member)
        member.send("Second, half written")
        await next_reply(member)
        member.command("/report")
        resumed = await next_reply(member)
        assert "draft is safe" in resumed.content
        prompt = await next_reply(member)
        assert "So far we have: one text." in prompt.content
        await finish_report(member, prompt)
        member.command("/report")
        refusal = await next_reply(member)
        assert "two reports in the last hour" in refusal.content
        assert await grievance_count(bot) == 2
