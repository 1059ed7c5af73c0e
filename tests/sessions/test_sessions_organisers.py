"""Organisers over the fake Bot API: staff-only commands, editing time and place (everyone is
told), cancelling, drafts, reminders that survive a restart, and the command-line import."""

from __future__ import annotations

import argparse
import io
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from bot.commands import import_sessions
from storage.models import AuditEntry, DialogueSession, OutboxMessage
from tests.sessions.test_sessions_support import (
    BAGHDAD,
    add_member,
    add_session,
    ask,
    idle,
    label,
    make_organiser,
    text,
)
from tests.support.harness import BotHarness

REPO = Path(__file__).resolve().parents[2]
ORGANISER = 800
TITLE = "Mosul youth dialogue"


async def register(bot: BotHarness, user_id: int, language: str = "en") -> None:
    await add_member(bot.db, user_id, language=language, now=bot.clock.now())
    member = bot.user(user_id, language)
    member.command("/sessions")
    listing = await member.reply()
    member.press(listing, data=listing.buttons()[0][1])
    if (await member.reply()).content.startswith("✅"):
        await member.replies(2)  # the QR image and the calendar file


async def test_members_get_the_unknown_command_answer_for_staff_commands(bot: BotHarness) -> None:
    now = bot.clock.now()
    session_id = await add_session(bot.db, now, title=TITLE)
    member = bot.user(11, "en")
    for command in (
        "/newsession",
        "/sessions_admin",
        "/checkin ACDEFH",
        f"/attendees {session_id}",
        f"/feedback {session_id}",
    ):
        member.command(command)
        assert (await member.reply()).content == text("en", "errors.unknown_command")
    member.command("/sessions")
    listing = await member.reply()
    member.press(listing, data=f"sadm:y:{session_id}:1")
    await idle(bot)
    async with bot.db.unit_of_work() as uow:
        status = await uow.session.scalar(select(DialogueSession.status))
    assert status == "published"


async def test_changing_time_and_place_tells_every_registrant_and_old_buttons_do_nothing(
    bot: BotHarness,
) -> None:
    now = bot.clock.now()
    session_id = await add_session(bot.db, now, capacity=1, title=TITLE)
    await make_organiser(bot.db, ORGANISER, now)
    await register(bot, 21, "en")
    await register(bot, 22, "ar")  # waiting list: told too
    organiser = bot.user(ORGANISER, "en")
    organiser.command("/sessions_admin")
    card = await organiser.reply()
    assert "1 of 1 registered, 1 waiting" in card.content
    organiser.press(card, text=label("en", "sessions.admin.edit"))
    assert (await organiser.reply()).content == text("en", "sessions.edit.ask_starts_at")
    new_start = (now + timedelta(days=4)).astimezone(BAGHDAD).strftime("%Y-%m-%d 10:00")
    organiser.send(new_start)
    organiser.send("12:30")
    await organiser.replies(2)
    organiser.send("Community centre, Al-Zuhur")
    confirm = await organiser.reply()
    assert "Community centre" in confirm.content
    organiser.press(confirm, text=label("en", "sessions.edit.save"))
    assert (await organiser.reply()).content == text(
        "en", "sessions.edit.saved", session_id=session_id, told=2
    )
    await idle(bot)
    english = [m.content for m in bot.api.messages_to(21)]
    arabic = [m.content for m in bot.api.messages_to(22)]
    assert any("Community centre, Al-Zuhur" in m and m.startswith("📢") for m in english)
    assert any("Community centre, Al-Zuhur" in m and "تغيير في جلستك" in m for m in arabic)

    organiser.press(card, text=label("en", "sessions.admin.cancel"))
    assert (await organiser.reply()).content == text("en", "sessions.admin.changed_meanwhile")
    async with bot.db.unit_of_work() as uow:
        row = await uow.session.get(DialogueSession, session_id)
        assert row is not None and row.status == "published" and row.version == 2
        assert row.starts_at.astimezone(BAGHDAD).strftime("%H:%M") == "10:00"


async def test_bad_times_in_the_edit_flow_are_refused_and_nothing_changes(bot: BotHarness) -> None:
    now = bot.clock.now()
    session_id = await add_session(bot.db, now, title=TITLE)
    await make_organiser(bot.db, ORGANISER, now)
    organiser = bot.user(ORGANISER, "ar")
    organiser.command("/sessions_admin")
    card = await organiser.reply()
    organiser.press(card, text=label("ar", "sessions.admin.edit"))
    await organiser.reply()
    organiser.send("2001-01-01 10:00")
    assert (await organiser.reply()).content == text("ar", "sessions.invalid.in_past")
    await organiser.reply()
    organiser.send("قريبًا")
    assert (await organiser.reply()).content == text("ar", "sessions.invalid.bad_datetime")
    await idle(bot)
    async with bot.db.unit_of_work() as uow:
        row = await uow.session.get(DialogueSession, session_id)
        assert row is not None and row.version == 1


async def test_no_to_cancelling_keeps_the_session_and_takes_the_question_away(
    bot: BotHarness,
) -> None:
    now = bot.clock.now()
    await add_session(bot.db, now, capacity=3, title=TITLE)
    await make_organiser(bot.db, ORGANISER, now)
    organiser = bot.user(ORGANISER, "ar")
    organiser.command("/sessions_admin")
    card = await organiser.reply()
    organiser.press(card, text=label("ar", "sessions.admin.cancel"))
    ask = await organiser.reply()
    organiser.press(ask, text=label("ar", "sessions.admin.keep_session"))
    assert (await organiser.reply()).content == text("ar", "sessions.admin.kept")
    asked = bot.api.get_message(ask.chat_id, ask.message_id)
    assert asked is not None and asked.buttons() == []
    await idle(bot)
    async with bot.db.unit_of_work() as uow:
        statuses = list(await uow.session.scalars(select(DialogueSession.status)))
    assert statuses == ["published"]


async def test_cancelling_tells_everyone_and_is_audited(bot: BotHarness) -> None:
    now = bot.clock.now()
    session_id = await add_session(bot.db, now, capacity=1, title=TITLE)
    await make_organiser(bot.db, ORGANISER, now)
    await register(bot, 31)
    await register(bot, 32)
    organiser = bot.user(ORGANISER, "en")
    organiser.command("/sessions_admin")
    card = await organiser.reply()
    organiser.press(card, text=label("en", "sessions.admin.cancel"))
    ask = await organiser.reply()
    organiser.press(ask, text=label("en", "sessions.admin.confirm_cancel"))
    assert "2 people are being told" in (await organiser.reply()).content
    organiser.press(ask, text=label("en", "sessions.admin.confirm_cancel"))
    assert (await organiser.reply()).content == text("en", "sessions.admin.already_cancelled")
    for user_id in (31, 32):
        assert (await bot.user(user_id).reply(timeout=30)).content.startswith("❌")
    await idle(bot)
    async with bot.db.unit_of_work() as uow:
        actions = list(
            await uow.session.scalars(
                select(AuditEntry.action).where(AuditEntry.record_id == str(session_id))
            )
        )
    assert actions.count("session.cancel") == 1
    member = bot.user(31, "en")
    member.command("/sessions")
    assert (await member.reply()).content == text("en", "sessions.list.empty")


async def test_a_draft_is_invisible_until_published(bot: BotHarness) -> None:
    now = bot.clock.now()
    await make_organiser(bot.db, ORGANISER, now)
    from bot.sessions.organising import create_session
    from tests.sessions.test_sessions_support import draft

    async with bot.db.unit_of_work() as uow:
        await create_session(
            uow, draft(now, title=TITLE), actor_id=ORGANISER, publish=False, now=now
        )
        await uow.commit()
    member = bot.user(41, "en")
    member.command("/sessions")
    assert (await member.reply()).content == text("en", "sessions.list.empty")
    organiser = bot.user(ORGANISER, "en")
    organiser.command("/sessions_admin")
    card = await organiser.reply()
    organiser.press(card, text=label("en", "sessions.admin.publish"))
    assert (await organiser.reply()).content.startswith("📢")
    member.command("/sessions")
    assert TITLE in (await member.reply()).content


async def test_reminders_survive_a_restart_and_are_sent_once(bot: BotHarness) -> None:
    now = bot.clock.now()
    session_id = await add_session(
        bot.db, now, title=TITLE, starts_in=timedelta(days=2), reminders=(24 * 60,)
    )
    await register(bot, 51)
    await idle(bot)
    await bot.restart()
    async with bot.db.unit_of_work() as uow:
        row = await uow.session.get(DialogueSession, session_id)
        assert row is not None
        starts_at = row.starts_at
    bot.clock.advance(starts_at - timedelta(hours=23, minutes=59) - bot.clock.now())
    member = bot.user(51)
    reminder = await member.reply(timeout=30)
    assert reminder.content.startswith("⏰") and "24 hours" in reminder.content
    await bot.restart()
    bot.clock.advance(timedelta(hours=1))
    await idle(bot)
    await member.assert_no_reply()
    async with bot.db.unit_of_work() as uow:
        sent = await uow.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.chat_id == 51, OutboxMessage.dedupe_key.contains(":remind:"))
        )
    assert sent == 1


async def test_attendees_and_checkin_answer_junk_clearly(bot: BotHarness) -> None:
    now = bot.clock.now()
    await make_organiser(bot.db, ORGANISER, now)
    organiser = bot.user(ORGANISER, "ar")
    for command, key in (
        ("/attendees", "sessions.attendees.usage"),
        ("/attendees abc", "sessions.attendees.usage"),
        ("/feedback", "sessions.feedback.usage"),
        ("/checkin", "sessions.checkin.usage"),
    ):
        organiser.command(command)
        assert (await organiser.reply()).content == text("ar", key)
    organiser.command("/attendees ٩٩٩")
    assert (await organiser.reply()).content == text("ar", "sessions.errors.not_found")
    organiser.command("/checkin 0000")
    assert (await organiser.reply()).content == text(
        "ar", "sessions.checkin.not_found", code="0000"
    )


async def imported(bot: BotHarness) -> list[tuple[str, str]]:
    async with bot.db.unit_of_work() as uow:
        rows = await uow.session.execute(select(DialogueSession.title_ar, DialogueSession.status))
        return [(title, status) for title, status in rows.tuples()]


async def test_the_example_csv_imports_and_members_see_the_sessions(
    bot: BotHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    args = argparse.Namespace(
        file=REPO / "docs/examples/sessions.csv", draft=False, check=False, organiser=ORGANISER
    )
    assert await import_sessions.run(bot.settings, args) == 0
    assert "2 sessions published" in capsys.readouterr().out
    assert sorted(await imported(bot)) == [
        ("جلسة الأرض والملكية", "published"),
        ("حوار شباب الموصل", "published"),
    ]
    member = bot.user(61, "ar")
    member.command("/sessions")
    assert "حوار شباب الموصل" in (await member.reply()).content


async def test_an_import_with_bad_rows_reports_each_row_and_imports_nothing(
    bot: BotHarness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(import_sessions.IMPORT_COLUMNS))
    good = [
        "عنوان",
        "Title",
        "وصف",
        "Description",
        "basra",
        "Hall",
        "2031-01-10 10:00",
        "12:00",
        30,
    ]
    sheet.append(good)
    sheet.append([*good[:6], "2001-01-10 10:00", "12:00", 30])
    sheet.append([*good[:8], "abc"])
    sheet.append([*good[:4], "atlantis", *good[5:]])
    sheet.append([*good[:7], "09:00", "٣٠"])
    path = tmp_path / "sessions.xlsx"
    workbook.save(path)
    args = argparse.Namespace(file=path, draft=False, check=False, organiser=None)
    assert await import_sessions.run(bot.settings, args) == 1
    out = capsys.readouterr().out
    assert "nothing was imported" in out
    assert "row 3, starts_at" in out and "row 4, capacity" in out
    assert "row 5, governorate" in out and "row 6, ends_at" in out
    assert "row 2" not in out
    assert await imported(bot) == []

    buffer = io.StringIO()
    buffer.write(",".join(import_sessions.IMPORT_COLUMNS) + "\n")
    buffer.write("عنوان,Title,وصف,Description,basra,Hall,10/01/2031 10:00,12:00,٣٠,,,\n")
    csv_path = tmp_path / "ok.csv"
    csv_path.write_text(buffer.getvalue(), encoding="utf-8-sig")
    args = argparse.Namespace(file=csv_path, draft=True, check=False, organiser=None)
    assert await import_sessions.run(bot.settings, args) == 0
    assert await imported(bot) == [("عنوان", "draft")]


async def test_newsession_refuses_over_long_text_and_stickers_and_cancel_keeps_nothing(
    bot: BotHarness,
) -> None:
    await make_organiser(bot.db, ORGANISER, bot.clock.now())
    organiser = bot.user(ORGANISER, "en")
    organiser.command("/newsession")
    await organiser.reply()
    organiser.send("x" * 300)
    assert (await organiser.reply()).content == text("en", "sessions.invalid.too_long_text")
    assert (await organiser.reply()).content == ask("en", "title_ar")
    organiser.send_sticker()
    assert (await organiser.reply()).content == text("en", "flow.unsupported_message")
    assert (await organiser.reply()).content == ask("en", "title_ar")
    organiser.send("عنوان")
    assert (await organiser.reply()).content == ask("en", "title_en")
    organiser.command("/cancel")
    await organiser.reply()
    await idle(bot)
    assert await imported(bot) == []
