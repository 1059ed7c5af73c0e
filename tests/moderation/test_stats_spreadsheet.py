"""`/stats xlsx` sends the figures as a spreadsheet written by the one export module: opened
with openpyxl, counts are number cells (small ones read "<5" as in the chat), each code has its
label in the staff member's language beside it, the header is frozen with a filter, the week of
the trend is a date cell, an Arabic sheet is right-to-left, and `hxl` adds the hashtag row."""

from __future__ import annotations

import csv
import io
from datetime import date

from openpyxl import load_workbook
from sqlalchemy import update

from bot.engines.roles import Role
from storage.models import Member
from tests.fake_telegram import FakeBotApi
from tests.fake_telegram.records import SentMessage
from tests.grievances.test_grievance_steps import running_bot, staff_member
from tests.moderation.test_moderation_reports import seeded


def workbook_of(messages: list[SentMessage]):  # type: ignore[no-untyped-def]
    xlsx = next(m for m in messages if (m.document_name or "").endswith(".xlsx"))
    return load_workbook(io.BytesIO(xlsx.document_bytes or b""))


async def test_stats_as_a_spreadsheet_in_english_and_arabic(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url) as bot:
        await seeded(bot)
        moderator = await staff_member(bot, 9611, Role.MODERATOR)
        moderator.command("/stats xlsx")
        received = [await moderator.reply(timeout=20) for _ in range(3)]
        # The files are sent during the command, the summary as its reply: in either order.
        assert any("All cases: 16" in m.content for m in received)
        csv_file = next(m for m in received if (m.document_name or "").endswith(".csv"))
        raw = csv_file.document_bytes or b""
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert rows[0] == ["dimension", "Breakdown", "value", "Group", "cases"]
        book = workbook_of(received)
        figures = book["figures"]
        assert figures.freeze_panes == "A2" and not figures.sheet_view.rightToLeft
        assert figures.auto_filter.ref == f"A1:E{figures.max_row}"
        table = {
            (row[0].value, row[2].value): (row[3].value, row[4])
            for row in figures.iter_rows(min_row=2)
        }
        label, count = table[("category", "public_services")]
        assert label == "Public services" and count.value == 12 and count.data_type == "n"
        label, count = table[("category", "livelihoods")]
        assert count.value == 3 and count.data_type == "n"  # moderators' own threshold
        assert table[("governorate", "anbar")][0] == "Anbar"
        summary = {row[0].value: row[2] for row in book["summary"].iter_rows(min_row=2)}
        assert summary["total"].value == 16 and summary["total"].data_type == "n"
        assert "trend" not in book.sheetnames

        arabic = await staff_member(bot, 9612, Role.ORGANISER)
        async with bot.db.unit_of_work() as uow:
            await uow.session.execute(
                update(Member).where(Member.user_id == 9612).values(language="ar")
            )
            await uow.commit()
        arabic.command("/stats anbar xlsx hxl")
        received = [await arabic.reply(timeout=20) for _ in range(5)]
        book = workbook_of(received)
        figures = book["figures"]
        assert figures.sheet_view.rightToLeft and figures.freeze_panes == "A3"
        assert [c.value for c in figures[1]] == [
            "dimension",
            "التصنيف",
            "value",
            "الفئة",
            "cases",
        ]
        assert figures.cell(2, 4).value == "#group+name"
        labels = {row[2].value: row[3].value for row in figures.iter_rows(min_row=3)}
        assert labels["new"] == "مُستلَم" and labels["public_services"] == "الخدمات العامة"
        # An organiser sees small counts as the chat says them, in Arabic.
        small = {row[2].value: row[4] for row in figures.iter_rows(min_row=3)}["livelihoods"]
        assert small.data_type == "s" and "٥" in small.value
        assert f"livelihoods: {small.value}" not in " ".join(m.content for m in received)
        summary = next(m for m in received if "أرقام البلاغات" in m.content)
        assert small.value in summary.content
        trend = book["trend"]
        assert trend.sheet_view.rightToLeft and trend.cell(2, 3).value == "#adm1+name"
        weeks = [row[0] for row in trend.iter_rows(min_row=3)]
        assert weeks and all(cell.is_date for cell in weeks)
        assert all(cell.value.date().weekday() == 0 for cell in weeks)  # Mondays
        assert {row[2].value for row in trend.iter_rows(min_row=3)} == {"الأنبار"}
        reports = [row[5].value for row in trend.iter_rows(min_row=3)]
        assert all(value is None or isinstance(value, int) for value in reports)
        assert sum(value or 0 for value in reports) >= 5
        assert isinstance(weeks[0].value.date(), date)
