"""The audit log is append-only on both databases, and /audit tells it in words without
message text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import delete, update
from sqlalchemy import text as sql
from sqlalchemy.exc import DBAPIError

from bot.engines.audit import record_action
from storage.models import AuditEntry
from tests.fake_telegram import FakeBotApi
from tests.members.test_onboarding_steps import audit_count, label, text
from tests.support.harness import BotHarness

ADMIN = 9101


@pytest.fixture
async def admin_bot(fake_api: FakeBotApi, database_url: str) -> AsyncIterator[BotHarness]:
    harness = BotHarness(fake_api, database_url, ADMIN_IDS=str(ADMIN))
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def test_audit_rows_can_be_added_but_never_changed_or_deleted(bot: BotHarness) -> None:
    async with bot.db.unit_of_work() as uow:
        await record_action(
            uow,
            actor_id=1,
            action="test.kept",
            record_type="user",
            record_id="1",
            now=bot.clock.now(),
        )
        await uow.commit()
    count = await audit_count(bot)
    statements = (
        update(AuditEntry).values(action="test.rewritten"),
        delete(AuditEntry),
        sql("UPDATE audit_log SET actor_id = 2"),
    )
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"):
            async with bot.db.unit_of_work() as uow:
                await uow.session.execute(statement)
                await uow.commit()
    if bot.db.is_postgresql:
        with pytest.raises(DBAPIError, match="append-only"):
            async with bot.db.unit_of_work() as uow:
                await uow.session.execute(sql("TRUNCATE audit_log"))
                await uow.commit()
    assert await audit_count(bot) == count


async def test_audit_shows_recent_entries_without_any_text(admin_bot: BotHarness) -> None:
    bot = admin_bot
    async with bot.db.unit_of_work() as uow:
        for number in range(20):
            await record_action(
                uow,
                actor_id=ADMIN,
                action="grievance.note",
                record_type="grievance",
                record_id=f"GR-{number:04d}",
                details={"entry_id": number, "text": "my neighbour threatened me"},
                now=bot.clock.now() + timedelta(seconds=number),
            )
        await uow.commit()
    admin = bot.user(ADMIN, "en")
    admin.command("/audit")
    page = await admin.reply()
    assert page.content.startswith(text("en", "staff.audit.title"))
    assert "GR-0019" in page.content and "GR-0005" in page.content
    assert "GR-0004" not in page.content
    assert "added a note to GR-0019" in page.content
    assert "neighbour" not in page.content
    admin.press(page, text=label("en", "staff.audit.older_button"))
    older = await admin.reply()
    assert "GR-0004" in older.content and "GR-0019" not in older.content

    admin.command("/audit grievance GR-0003")
    one = (await admin.reply()).content
    assert "GR-0003" in one and "GR-0004" not in one
    admin.command("/grant ٩١٠٢ organiser")
    await admin.reply()
    admin.command("/audit user 9102")
    by_user = (await admin.reply()).content
    assert "gave user 9102 (name not known yet) the role organiser" in by_user
    assert "GR-" not in by_user
    admin.command("/audit grievance GR-9999")
    assert (await admin.reply()).content == text("en", "staff.audit.empty")
    for junk in ("/audit user abc", "/audit x", "/audit a b c", "/audit <b> 1"):
        admin.command(junk)
        assert (await admin.reply()).content == text("en", "staff.audit.usage"), junk
    admin.press(page, data="audit:older:abc")
    assert (await admin.reply()).content == text("en", "flow.stale_button_no_flow")


async def test_audit_in_arabic_shows_baghdad_time(admin_bot: BotHarness) -> None:
    bot = admin_bot
    admin = bot.user(ADMIN, "ar")
    admin.command("/audit")
    page = (await admin.reply()).content
    assert page.startswith(text("ar", "staff.audit.title"))
    assert "منح" in page and "role.grant" not in page
    assert text("ar", "staff.audit.system") in page
