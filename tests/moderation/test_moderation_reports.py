"""/stats, the trend chart, /export and "you said, we did" (SPEC §4.1, §5): figures with small
cells suppressed, files without reporter identity, and an aggregate broadcast."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import update

from bot.engines.roles import Role
from storage.models import Member
from tests.fake_telegram import FakeBotApi
from tests.grievances.test_grievance_steps import member_who_consented, running_bot, staff_member
from tests.moderation.test_moderation_steps import new_case, seed_cases

REPORTER = 7601


async def seeded(bot: object) -> None:
    now = bot.clock.now()  # type: ignore[attr-defined]
    cases = [new_case(4000 + n, now - timedelta(days=n % 20, hours=2)) for n in range(12)]
    cases += [
        new_case(4100 + n, now - timedelta(days=3), category="livelihoods", status="resolved")
        for n in range(3)
    ]
    cases += [new_case(4200, now - timedelta(days=2), category="gbv", safeguarding=True)]
    await seed_cases(bot, cases, reporter=REPORTER)  # type: ignore[arg-type]


async def test_stats_with_small_cells_for_organisers_suppressed_and_a_trend_chart(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url) as bot:
        await seeded(bot)
        moderator = await staff_member(bot, 9601, Role.MODERATOR)
        moderator.command("/stats")
        summary = (await moderator.reply(timeout=20)).content
        assert "All cases: 16" in summary and "Public services: 12" in summary
        # Moderators may open every case, so internal counts are shown as they are.
        assert "livelihoods: 3" in summary and "&lt;5" not in summary
        assert "to acknowledge: 5 h" in summary

        # Organisers cannot open cases: small counts stay hidden for them.
        organiser = await staff_member(bot, 9602, Role.ORGANISER)
        organiser.command("/stats anbar")
        organiser_summary = (await organiser.reply(timeout=20)).content
        assert "livelihoods: &lt;5" in organiser_summary
        chart = await organiser.reply(timeout=20)
        assert (
            chart.kind == "photo"
            and chart.document_bytes
            and chart.document_bytes[:4] == b"\x89PNG"
        )
        hint = await organiser.reply(timeout=20)
        assert "/wedid anbar" in hint.content


async def test_export_has_no_identity_no_free_text_and_no_safeguarding_for_moderators(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url) as bot:
        await seeded(bot)
        moderator = await staff_member(bot, 9603, Role.MODERATOR)
        moderator.command("/export gov=anbar")
        csv_message = await moderator.reply(timeout=20)
        xlsx_message = await moderator.reply(timeout=20)
        done = await moderator.reply(timeout=20)
        assert "16" not in done.content and "15" in done.content
        raw = csv_message.document_bytes or b""
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert rows[0][:3] == ["reference", "status", "Status"] and len(rows) == 16
        assert str(REPORTER) not in raw.decode() and "seeded" not in raw.decode()
        safeguarding = rows[0].index("safeguarding")
        assert all(row[safeguarding : safeguarding + 2] == ["no", "No"] for row in rows[1:])
        # Times are local date-times (TIMEZONE), never UTC text.
        created = rows[0].index("created_at")
        assert all(len(row[created]) == 16 and "+" not in row[created] for row in rows[1:])
        workbook = load_workbook(io.BytesIO(xlsx_message.document_bytes or b""))
        sheet = workbook["grievances"]
        assert sheet.max_row == 16 and sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}16"
        header = [cell.value for cell in sheet[1]]
        governorate = header.index("governorate")
        assert {row[governorate].value for row in sheet.iter_rows(min_row=2)} == {"anbar"}
        assert {row[governorate + 1].value for row in sheet.iter_rows(min_row=2)} == {"Anbar"}
        priority = header.index("priority")
        assert all(row[priority].data_type == "n" for row in sheet.iter_rows(min_row=2))
        assert sheet.cell(2, priority + 2).value in {"Can wait", "Soon", "Urgent"}
        assert sheet.cell(2, header.index("created_at") + 1).is_date
        assert not sheet.sheet_view.rightToLeft

        lead = await staff_member(bot, 9604, Role.SAFEGUARDING)
        lead.command("/export")
        lead_csv = await lead.reply(timeout=20)
        assert (lead_csv.document_bytes or b"").decode("utf-8-sig").count("\n") == 17

        # An Arabic-speaking moderator reads labels in Arabic, right to left, and may ask
        # for the HXL hashtag row.
        arabic = await staff_member(bot, 9606, Role.MODERATOR)
        async with bot.db.unit_of_work() as uow:
            await uow.session.execute(
                update(Member).where(Member.user_id == 9606).values(language="ar")
            )
            await uow.commit()
        arabic.command("/export hxl gov=anbar")
        arabic_csv = await arabic.reply(timeout=20)
        arabic_xlsx = await arabic.reply(timeout=20)
        await arabic.reply(timeout=20)
        table = list(
            csv.reader(io.StringIO((arabic_csv.document_bytes or b"").decode("utf-8-sig")))
        )
        assert "#adm1+name" in table[1] and "#sector+code" in table[1] and len(table) == 17
        sheet = load_workbook(io.BytesIO(arabic_xlsx.document_bytes or b""))["grievances"]
        assert sheet.sheet_view.rightToLeft and sheet.freeze_panes == "A3"
        header = [cell.value for cell in sheet[1]]
        assert header[header.index("governorate") + 1] == "المحافظة"
        assert sheet.cell(3, header.index("governorate") + 2).value == "الأنبار"
        assert sheet.cell(2, header.index("category") + 2).value == "#sector+name"


async def test_you_said_we_did_reaches_the_governorate_in_aggregate(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url) as bot:
        await seeded(bot)
        reader = await member_who_consented(bot, 7602, "ar")
        other = await member_who_consented(bot, 7603, "en")
        async with bot.db.unit_of_work() as uow:
            from storage.models import Member

            for user_id, governorate in ((7602, "anbar"), (7603, "basra")):
                member = await uow.session.get(Member, user_id)
                assert member is not None
                member.governorate = governorate
            await uow.commit()
        organiser = await staff_member(bot, 9605, Role.ORGANISER)
        organiser.command("/wedid anbar The health directorate sent a doctor.")
        preview = await organiser.reply(timeout=20)
        assert "Public services: 12" in preview.content and "livelihoods" not in preview.content
        assert "1 members" in preview.content or "It will reach 1" in preview.content
        organiser.press(preview, text="Send now")
        update = await reader.reply(timeout=30)
        assert "قلتم وفعلنا" in update.content and "The health directorate" in update.content
        await bot.idle()
        assert not [m for m in other.messages() if "You said" in m.content]
