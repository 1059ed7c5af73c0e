"""/attendees for an English-speaking organiser (the Arabic one is in the acceptance test):
the XLSX written by the one export module has a frozen header with a filter, left-to-right,
English labels beside the codes, number and local date-time cells, and counts as numbers."""

from __future__ import annotations

import io
from datetime import datetime

from openpyxl import load_workbook

from bot.sessions.registration import register_for_session
from tests.sessions.test_sessions_support import add_member, add_session, make_organiser
from tests.support.harness import BotHarness

ORGANISER = 930


async def test_attendees_spreadsheet_in_english(bot: BotHarness) -> None:
    now = bot.clock.now()
    await make_organiser(bot.db, ORGANISER, now)
    session_id = await add_session(bot.db, now, capacity=2, title="Youth dialogue")
    for user_id in (1101, 1102, 1103):
        await add_member(bot.db, user_id, governorate="nineveh", gender="female", now=now)
        async with bot.db.unit_of_work() as uow:
            await register_for_session(
                uow, session_id=session_id, user_id=user_id, language="en", now=now
            )
            await uow.commit()
    organiser = bot.user(ORGANISER, "en")
    organiser.command(f"/attendees {session_id}")
    received = await organiser.replies(3)
    xlsx = next(m for m in received if (m.document_name or "").endswith(".xlsx"))
    book = load_workbook(io.BytesIO(xlsx.document_bytes or b""))
    sheet = book["attendees"]
    assert sheet.freeze_panes == "A2" and not sheet.sheet_view.rightToLeft
    assert sheet.auto_filter.ref == "A1:H4"
    header = [c.value for c in sheet[1]]
    assert header[3:5] == ["status", "Status"]
    statuses = sorted((sheet.cell(r, 4).value, sheet.cell(r, 5).value) for r in range(2, 5))
    assert statuses == [
        ("confirmed", "Confirmed"),
        ("confirmed", "Confirmed"),
        ("waiting", "Waiting list"),
    ], statuses
    assert all(sheet.cell(r, 1).data_type == "n" for r in range(2, 5))
    waiting = next(r for r in range(2, 5) if sheet.cell(r, 4).value == "waiting")
    assert sheet.cell(waiting, 6).value == 1 and sheet.cell(waiting, 6).data_type == "n"
    registered = sheet.cell(2, 7)
    assert registered.is_date and isinstance(registered.value, datetime)
    counts = book["counts"]
    assert counts.freeze_panes == "A2" and counts.auto_filter.ref is not None
    labels = {(row[0].value, row[2].value): row[3].value for row in counts.iter_rows(min_row=2)}
    assert labels[("governorate", "nineveh")] == "Nineveh"
    assert labels[("gender", "female")] == "Woman"
