"""Safeguarding in every view (issue 16): for a moderator without the safeguarding role, a
safeguarding case's hidden fields (its governorate) are unknown in every /queue filter, in
/stats, /export and /case; the safeguarding officer still sees them."""

from __future__ import annotations

import io
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import select

from bot.engines.roles import Role
from bot.grievances.stats import weekly_trend
from storage.models import AuditEntry
from tests.fake_telegram import FakeBotApi, SimulatedUser, TgChat
from tests.grievances.test_grievance_steps import running_bot, staff_member
from tests.members.test_onboarding_steps import text
from tests.moderation.test_moderation_steps import new_case, seed_cases


async def answer(user: SimulatedUser, command: str) -> str:
    user.command(command)
    return (await user.reply(timeout=20)).content


async def test_a_moderator_learns_nothing_a_safeguarding_card_hides(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url) as bot:
        moderator = await staff_member(bot, 9701, Role.MODERATOR)
        officer = await staff_member(bot, 9702, Role.SAFEGUARDING)
        now = bot.clock.now()
        gbv = new_case(
            701,
            now - timedelta(days=3),
            category="gbv",
            safeguarding=True,
            governorate="baghdad",
            assignee_id=9701,
            priority=3,
        )
        others = [
            new_case(710 + n, now - timedelta(days=2), governorate="baghdad") for n in range(6)
        ]
        await seed_cases(bot, [gbv, *others], reporter=7701)
        baghdad = text("en", "governorate.baghdad")

        # Every /queue filter, alone and combined with the governorate.
        filters = ["", "status=new", "cat=gbv", "mine", "overdue", "gov=anbar"]
        for words in filters:
            page = await answer(moderator, f"/queue {words}".strip())
            if gbv.reference in page:
                line = next(x for x in page.splitlines() if gbv.reference in x)
                assert baghdad not in line, words
            with_governorate = await answer(moderator, f"/queue gov=baghdad {words}".strip())
            assert gbv.reference not in with_governorate, words
        assert gbv.reference in await answer(officer, "/queue gov=baghdad")

        # /stats: the case counts under "restricted", never under Baghdad.
        summary = await answer(moderator, "/stats")
        restricted = text("en", "privacy.restricted")
        assert f"{baghdad}: 7" not in summary and f"• {restricted}: " in summary
        officer_summary = await answer(officer, "/stats")
        assert f"{baghdad}: 7" in officer_summary and f"• {restricted}" not in officer_summary
        async with bot.db.unit_of_work(read_only=True) as uow:
            trend = await weekly_trend(uow, "baghdad", now, may_see_safeguarding=False)
            assert "gbv" not in trend.series

        # /export: no row of the case, filtered or not.
        for words in ("", "gov=baghdad", "cat=gbv", "mine"):
            moderator.command(f"/export {words}".strip())
            files = [m for m in await moderator.replies(3) if m.document_bytes]
            xlsx = next(m for m in files if (m.document_name or "").endswith(".xlsx"))
            assert xlsx.document_bytes is not None
            sheet = load_workbook(io.BytesIO(xlsx.document_bytes)).active
            assert sheet is not None
            cells = {str(c.value) for row in sheet.iter_rows() for c in row}
            assert gbv.reference not in cells, words

        # /case is refused outright.
        refused = text("en", "grievances.staff.safeguarding_only")
        assert await answer(moderator, f"/case {gbv.reference}") == refused
        assert baghdad in await answer(officer, f"/case {gbv.reference}")


async def test_a_group_answers_a_members_staff_command_as_an_unknown_one(
    fake_api: FakeBotApi, database_url: str
) -> None:
    """Issue 16: a staff command from a non-staff user got the unknown-command reply in a
    group, while a really unknown command got silence; now both get silence."""
    async with running_bot(fake_api, database_url) as bot:
        member = bot.user(7801, "en")
        group = SimulatedUser(
            bot.api, member.user, TgChat(id=-100778, type="supergroup", title="Community")
        )
        for command in ("/queue", "/stats", "/export", "/case GR-7K3M9Q", "/nosuchcommand"):
            group.command(command)
            await bot.idle()
            await group.assert_no_reply()
        staff = await staff_member(bot, 9801, Role.MODERATOR)
        staff_group = SimulatedUser(
            bot.api, staff.user, TgChat(id=-100778, type="supergroup", title="Community")
        )
        staff_group.command("/queue")
        assert (await staff_group.reply(timeout=20)).content == text(
            "en", "moderation.queue.empty"
        )


async def test_a_reply_reaches_the_reporter_with_its_links_made_inert(
    fake_api: FakeBotApi, database_url: str
) -> None:
    """`/reply GR-… https://track.example/u?c=GR-…` was relayed word for word: one tap gave
    the reporter's IP address to whoever runs that server."""
    async with running_bot(fake_api, database_url) as bot:
        moderator = await staff_member(bot, 9901, Role.MODERATOR)
        case = new_case(901, bot.clock.now())
        await seed_cases(bot, [case], reporter=7901)
        link = f"https://track.example/u?c={case.reference}"
        moderator.command(f"/reply {case.reference} Please read {link} or mail a@b.example")
        queued, told = await moderator.replies(2)
        assert queued.content == text(
            "en", "grievances.staff.reply_queued", reference=case.reference
        )
        assert told.content == text(
            "en", "grievances.staff.links_defanged", reference=case.reference, links=2
        )
        relayed = await bot.api.next_message(7901, timeout=20)
        assert "hxxps://track[.]example/u?c=" in relayed.content
        assert "a[@]b[.]example" in relayed.content
        assert "https://" not in relayed.content and "track.example" not in relayed.content
        assert not relayed.request_params.get("entities")
        assert relayed.request_params.get("disable_web_page_preview") in (True, "true") or (
            relayed.request_params.get("link_preview_options", {}).get("is_disabled")
        )
        async with bot.db.unit_of_work(read_only=True) as uow:
            actions = (
                await uow.session.execute(
                    select(AuditEntry.action, AuditEntry.details).where(
                        AuditEntry.record_id == case.reference
                    )
                )
            ).all()
        assert ("grievance.reply_links_defanged", {"links": 2}) in [tuple(a) for a in actions]
