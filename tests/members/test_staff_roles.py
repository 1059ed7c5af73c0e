"""Admins manage roles in chat and from the command line; every change is audited."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.commands import grant as grant_command
from bot.commands import revoke as revoke_command
from bot.commands import staff as staff_command
from bot.engines.audit import entries_for
from storage.models import AuditEntry
from tests.fake_telegram import FakeBotApi
from tests.members.test_onboarding_steps import audit_count, label, staff_rows, text
from tests.support.harness import BotHarness

ADMIN = 9001
ROLES = "admin, moderator, safeguarding, organiser"


@pytest.fixture
async def admin_bot(fake_api: FakeBotApi, database_url: str) -> AsyncIterator[BotHarness]:
    harness = BotHarness(fake_api, database_url, ADMIN_IDS=str(ADMIN))
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def test_admin_ids_are_admins_at_start_up_once(admin_bot: BotHarness) -> None:
    assert await staff_rows(admin_bot) == [(ADMIN, "admin")]
    await admin_bot.restart()
    assert await staff_rows(admin_bot) == [(ADMIN, "admin")]
    async with admin_bot.db.unit_of_work() as uow:
        entries = await entries_for(uow, "user", str(ADMIN))
    assert [(e.action, e.actor_id, e.details) for e in entries] == [
        ("role.grant", None, {"role": "admin"})
    ]


async def test_an_admin_grants_lists_and_revokes_roles_with_arabic_digits(
    admin_bot: BotHarness,
) -> None:
    bot = admin_bot
    admin = bot.user(ADMIN, "ar")
    admin.command("/grant ٩٠٠٢ moderator")
    moderator = label("ar", "staff.role.moderator")
    assert (await admin.reply()).content == text(
        "ar", "staff.granted", user_id=9002, role=moderator
    )
    admin.command("/grant 9002 MODERATOR")
    assert (await admin.reply()).content == text(
        "ar", "staff.already_has", user_id=9002, role=moderator
    )
    admin.command("/staff")
    listing = (await admin.reply()).content
    assert "٩٠٠١" in listing and "٩٠٠٢" in listing and moderator in listing
    admin.command("/revoke 9002 moderator")
    assert (await admin.reply()).content == text(
        "ar", "staff.revoked", user_id=9002, role=moderator
    )
    admin.command("/revoke 9002 moderator")
    assert (await admin.reply()).content == text(
        "ar", "staff.did_not_have", user_id=9002, role=moderator
    )
    async with bot.db.unit_of_work() as uow:
        entries = await entries_for(uow, "user", "9002")
    assert [(e.action, e.actor_id) for e in entries] == [
        ("role.grant", ADMIN),
        ("role.revoke", ADMIN),
    ]


async def test_junk_arguments_get_a_clear_usage_message_and_change_nothing(
    admin_bot: BotHarness,
) -> None:
    bot = admin_bot
    admin = bot.user(ADMIN, "en")
    before = await audit_count(bot)
    cases = {
        "/grant": text("en", "staff.grant_usage", roles=ROLES),
        "/grant 9003": text("en", "staff.grant_usage", roles=ROLES),
        "/revoke 1 2 3": text("en", "staff.revoke_usage", roles=ROLES),
        "/grant abc moderator": text("en", "staff.bad_user_id", given="abc", roles=ROLES),
        "/grant -5 moderator": text("en", "staff.bad_user_id", given="-5", roles=ROLES),
        "/grant 9003 boss": text("en", "staff.unknown_role", given="boss", roles=ROLES),
        "/grant 9003 <b>x</b>": text("en", "staff.unknown_role", given="<b>x</b>", roles=ROLES),
        "/grant 99999999999999999999 admin": text(
            "en", "staff.bad_user_id", given="99999999999999999999", roles=ROLES
        ),
    }
    for command, expected in cases.items():
        admin.command(command)
        assert (await admin.reply()).content == expected, command
    assert await audit_count(bot) == before
    assert await staff_rows(bot) == [(ADMIN, "admin")]


def namespace(**values: str) -> argparse.Namespace:
    return argparse.Namespace(**values)


async def test_roles_from_the_command_line(
    admin_bot: BotHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = admin_bot.settings
    assert await grant_command.run(settings, namespace(user_id="٩٠٠٤", role="organiser")) == 0
    assert await staff_command.run(settings, namespace()) == 0
    assert await revoke_command.run(settings, namespace(user_id="9004", role="organiser")) == 0
    assert await grant_command.run(settings, namespace(user_id="x", role="organiser")) == 2
    assert await grant_command.run(settings, namespace(user_id="1", role="boss")) == 2
    printed = capsys.readouterr().out
    assert "9004 is now organiser" in printed
    assert "9004\torganiser" in printed
    assert "9004 is no longer organiser" in printed
    async with admin_bot.db.unit_of_work() as uow:
        actions = list(
            await uow.session.scalars(
                select(AuditEntry.action).where(AuditEntry.record_id == "9004")
            )
        )
    assert actions == ["role.grant", "role.revoke"]
