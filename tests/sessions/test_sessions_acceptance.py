"""Acceptance, as people would use it: an organiser publishes a session in Arabic, members
fill it, the waiting list moves, reminders arrive once, people are checked in at the door,
the export opens with correct Arabic, and attendees give feedback afterwards."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from openpyxl import load_workbook
from sqlalchemy import func, select

from storage.models import DialogueSession, OutboxMessage
from tests.sessions.test_sessions_support import (
    BAGHDAD,
    add_member,
    ask,
    idle,
    label,
    make_organiser,
    registrations,
    text,
)
from tests.support.harness import BotHarness

ORGANISER = 900
TITLE_AR = "حوار شباب الموصل"


def arabic_digits(value: str) -> str:
    return value.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))


async def test_an_organiser_publishes_in_arabic_and_the_session_runs_end_to_end(
    bot: BotHarness,
) -> None:
    now = bot.clock.now()
    await make_organiser(bot.db, ORGANISER, now)
    organiser = bot.user(ORGANISER, "ar", name="Organiser")

    organiser.command("/newsession")
    assert (await organiser.reply()).content == ask("ar", "title_ar")
    for answer, next_step in (
        (TITLE_AR, "title_en"),
        ("Mosul youth dialogue", "description_ar"),
        ("جلسة حوار مفتوحة عن الخدمات العامة", "description_en"),
        ("An open dialogue about public services", "governorate"),
    ):
        organiser.send(answer)
        assert (await organiser.reply()).content == ask("ar", next_step)
    governorates = organiser.last_message()
    organiser.press(governorates, text=label("ar", "governorate.nineveh"))
    assert (await organiser.reply()).content == ask("ar", "venue")
    organiser.send("قاعة ٢، جامعة الموصل")
    assert (await organiser.reply()).content == ask("ar", "venue_en")
    organiser.send("Hall 2, University of Mosul")
    assert (await organiser.reply()).content == ask("ar", "starts_at")

    organiser.send(
        arabic_digits((now - timedelta(days=1)).astimezone(BAGHDAD).strftime("%d/%m/%Y 17:00"))
    )
    notice, _again = await organiser.replies(2)
    assert notice.content == text("ar", "sessions.invalid.in_past")
    start_day = (now + timedelta(days=3)).astimezone(BAGHDAD)
    organiser.send(arabic_digits(start_day.strftime("%d/%m/%Y 17:00")))
    assert (await organiser.reply()).content == ask("ar", "ends_at")
    organiser.send("١٦:٠٠")
    notice, _again = await organiser.replies(2)
    assert notice.content == text("ar", "sessions.invalid.end_before_start")
    organiser.send("١٩:٠٠")
    assert (await organiser.reply()).content == ask("ar", "capacity")
    for junk, reason in (("0", "capacity_range"), ("abc", "not_a_number")):
        organiser.send(junk)
        notice, _again = await organiser.replies(2)
        assert notice.content == text("ar", f"sessions.invalid.{reason}")
    organiser.send("٣")
    for _optional in ("reserved_women", "reserved_youth", "reminders"):
        prompt = await organiser.reply()
        organiser.press(prompt, text=label("ar", "flow.skip"))
    preview = await organiser.reply()
    assert TITLE_AR in preview.content and "Mosul youth dialogue" in preview.content
    organiser.press(preview, text=label("ar", "sessions.new.publish"))
    published = await organiser.reply()
    async with bot.db.unit_of_work() as uow:
        session = await uow.session.scalar(select(DialogueSession))
        assert session is not None
        session_id, starts_at = session.id, session.starts_at
        assert (session.capacity, session.status, session.title_ar) == (3, "published", TITLE_AR)
    link = f"https://t.me/{bot.api.bot_user['username']}?start=s{session_id}"
    assert published.content == text(
        "ar", "sessions.new.published", session_id=session_id, title=TITLE_AR, link=link
    )
    # The full link, tappable, on its own line with no direction marks to copy along.
    assert f'\n<a href="{link}">{link}</a>\n' in published.content
    assert starts_at.astimezone(BAGHDAD).strftime("%H:%M") == "17:00"

    # Members fill the three seats; the fourth and fifth go on the waiting list.
    members = []
    for n in range(5):
        user_id = 1000 + n
        await add_member(
            bot.db,
            user_id,
            language="ar",
            governorate="nineveh",
            now=now,
            gender="female" if n % 2 else "male",
            age_group="18_24",
        )
        members.append(bot.user(user_id, "ar"))
    codes: dict[int, str] = {}
    for n, member in enumerate(members):
        member.command("/sessions")
        listing = await member.reply()
        assert TITLE_AR in listing.content
        member.press(
            listing,
            text=label(
                "ar",
                "sessions.buttons.register" if n < 3 else "sessions.buttons.waitlist",
                title=TITLE_AR,
            ),
        )
        if n < 3:
            # The ticket, its QR image and the calendar file, in whatever order they land.
            sent = await member.replies(3)
            [ticket] = [m for m in sent if m.kind == "text"]
            [photo] = [m for m in sent if m.kind == "photo"]
            [calendar] = [m for m in sent if m.kind == "document"]
            assert ticket.content.startswith("✅") and "<code>" in ticket.content
            assert photo.document_bytes
            assert calendar.document_name == f"session-{session_id}.ics"
            assert calendar.document_bytes is not None
            ics = calendar.document_bytes.decode()
            assert "TZID=Asia/Baghdad" in ics and "BEGIN:VTIMEZONE" in ics
        else:
            assert "⏳" in (await member.reply()).content
    rows = await registrations(bot.db, session_id)
    assert [status for _, status, _ in rows] == ["confirmed"] * 3 + ["waiting"] * 2
    codes = {uid: code for uid, _, code in rows if uid is not None}

    # The first member cancels from /mysessions; the first on the waiting list is told.
    first = members[0]
    first.command("/mysessions")
    mine = await first.reply()
    first.press(mine, text=label("ar", "sessions.buttons.cancel"))
    confirm = await first.reply()
    first.press(confirm, text=label("ar", "sessions.buttons.confirm_cancel"))
    assert (await first.reply()).content.startswith("أُلغي مقعدك")
    promoted = await members[3].reply()
    assert "توفر مقعد" in promoted.content and codes[1003] in promoted.content
    await idle(bot)
    await members[4].assert_no_reply()
    rows = await registrations(bot.db, session_id)
    assert [(uid, status) for uid, status, _ in rows][:1] == [(1000, "cancelled")]
    assert sorted(uid for uid, status, _ in rows if status == "confirmed") == [1001, 1002, 1003]

    # The 24-hour reminder arrives once, to those holding a seat, not to who cancelled.
    bot.clock.advance(starts_at - timedelta(hours=24, minutes=-1) - bot.clock.now())
    for member in members[1:4]:
        reminder = await member.reply(timeout=30)
        assert reminder.content.startswith("⏰") and codes[member.user.id] in reminder.content
    await idle(bot)
    bot.clock.advance(timedelta(hours=1))
    await idle(bot)
    for member in members:
        await member.assert_no_reply()
    bot.clock.advance(starts_at - timedelta(hours=2, minutes=-1) - bot.clock.now())
    for member in members[1:4]:
        assert (await member.reply(timeout=30)).content.startswith("⏰")
    await idle(bot)
    await first.assert_no_reply()
    async with bot.db.unit_of_work() as uow:
        reminders = await uow.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.dedupe_key.contains(":remind:"))
        )
    assert reminders == 6

    # At the door: codes typed in lower case with Arabic-Indic digits, or from the QR text.
    bot.clock.advance(timedelta(hours=2))
    typed = arabic_digits(codes[1001].lower())
    organiser.command(f"/checkin {typed}")
    assert (await organiser.reply()).content.startswith("✅")
    organiser.command(f"/checkin S{session_id}-{codes[1002]}")
    assert (await organiser.reply()).content.startswith("✅")
    organiser.command("/checkin ACDEFH")
    assert (await organiser.reply()).content == text(
        "ar", "sessions.checkin.not_found", code="ACDEFH"
    )
    organiser.command(f"/checkin {codes[1004]}")
    assert (await organiser.reply()).content.startswith(
        text("ar", "sessions.checkin.not_confirmed", code=codes[1004], title=TITLE_AR)[:20]
    )

    # The export opens with correct Arabic, in CSV (UTF-8 with BOM) and XLSX.
    organiser.command(f"/attendees {session_id}")
    sent = {m.document_name or "text": m for m in await organiser.replies(3)}  # any order
    summary = sent["text"]
    csv_file = sent[f"session-{session_id}-attendees.csv"]
    xlsx_file = sent[f"session-{session_id}-attendees.xlsx"]
    assert codes[1001] in summary.content and codes[1004] in summary.content
    assert csv_file.document_bytes is not None and csv_file.document_bytes.startswith(
        b"\xef\xbb\xbf"
    )
    table = list(csv.reader(io.StringIO(csv_file.document_bytes.decode("utf-8-sig"))))
    assert table[0][:5] == ["رقم الجلسة", "الجلسة", "الرمز", "status", "الحالة"]
    assert {row[2] for row in table[1:]} == {codes[1001], codes[1002], codes[1003], codes[1004]}
    assert all(row[1] == TITLE_AR and row[0] == str(session_id) for row in table[1:])
    checked_in = [row[7] for row in table[1:] if row[2] == codes[1001]]
    assert checked_in == [bot.clock.now().astimezone(BAGHDAD).strftime("%Y-%m-%d %H:%M")]
    assert xlsx_file.document_bytes is not None
    workbook = load_workbook(io.BytesIO(xlsx_file.document_bytes))
    sheet = workbook["attendees"]
    # Excel-ready: frozen header, a filter, right-to-left for Arabic, real number and
    # date-time cells (local time), and the code beside its Arabic label.
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:H5"
    assert sheet.sheet_view.rightToLeft
    assert sheet.cell(1, 2).value == "الجلسة" and sheet.cell(2, 2).value == TITLE_AR
    assert sheet.cell(2, 1).value == session_id and sheet.cell(2, 1).data_type == "n"
    statuses = {(sheet.cell(r, 4).value, sheet.cell(r, 5).value) for r in range(2, 6)}
    assert statuses == {("confirmed", "مؤكد"), ("waiting", "قائمة الانتظار")}
    arrived = [
        sheet.cell(r, 8).value for r in range(2, 6) if sheet.cell(r, 3).value == codes[1001]
    ]
    # A real date-time cell in local time: the check-in happened moments before the export.
    exported_at = bot.clock.now().astimezone(BAGHDAD).replace(tzinfo=None)
    assert len(arrived) == 1 and isinstance(arrived[0], datetime)
    assert timedelta(0) <= exported_at - arrived[0] < timedelta(minutes=1)
    assert sheet.cell(2, 7).is_date and sheet.cell(2, 7).number_format == "yyyy-mm-dd hh:mm"
    assert sheet.column_dimensions["B"].width >= len(TITLE_AR)
    counts = [tuple(c.value for c in row) for row in workbook["counts"].iter_rows(min_row=2)]
    # All three are from Nineveh, aged 18-24: those rows only repeat the published totals
    # (3 registered, 2 checked in). Split by gender, every figure is withheld.
    assert ("governorate", "المحافظة", "nineveh", "نينوى", 3, 2) in counts
    assert {row[4:] for row in counts if row[0] == "gender"} == {("محجوب", "محجوب")}
    assert "&amp;" not in summary.content and "محجوب" in summary.content  # escaped once

    # After the end, those checked in are invited to give feedback.
    bot.clock.advance(timedelta(hours=3))
    attendee = members[1]
    invite = await attendee.reply(timeout=30)
    assert invite.content.startswith("شكرًا لمشاركتك")
    await idle(bot)
    await members[3].assert_no_reply()  # registered but not checked in
    attendee.press(invite, text=label("ar", "sessions.feedback.start_button"))
    rating = await attendee.reply()
    # The five stars sit in one row, as a scale is read, in Arabic-Indic digits.
    star_rows = (rating.reply_markup or {}).get("inline_keyboard") or []
    assert [button["text"] for button in star_rows[0]] == [f"{n} ⭐" for n in "١٢٣٤٥"]
    attendee.press(rating, text="٥ ⭐")
    await attendee.reply()
    attendee.send("الاستماع إلى بعضنا")
    again = await attendee.reply()
    attendee.press(again, text=label("ar", "sessions.feedback.yes"))
    assert (await attendee.reply()).content == text("ar", "sessions.feedback.thanks")
    organiser.command(f"/feedback {session_id}")
    result = await organiser.reply()
    assert "الاستماع إلى بعضنا" in result.content
