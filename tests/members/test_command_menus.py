"""Command menus: members' commands per language for everyone, staff commands in staff chats."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.fake_telegram import FakeBotApi
from tests.members.test_onboarding_steps import label
from tests.support.harness import BotHarness

ADMIN = 9201
MODERATOR_CHAT = -1009201


@pytest.fixture
async def staff_bot(fake_api: FakeBotApi, database_url: str) -> AsyncIterator[BotHarness]:
    harness = BotHarness(
        fake_api, database_url, ADMIN_IDS=str(ADMIN), MODERATOR_CHAT_ID=str(MODERATOR_CHAT)
    )
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


def names(commands: list[dict[str, Any]]) -> list[str]:
    return [c["command"] for c in commands]


def chat(chat_id: int) -> dict[str, Any]:
    return {"type": "chat", "chat_id": chat_id}


async def test_members_see_their_commands_in_their_language(staff_bot: BotHarness) -> None:
    api = staff_bot.api
    for language in ("ar", "en", ""):
        commands = api.commands(language_code=language)
        assert names(commands)[:3] == ["start", "help", "profile"]
        assert "grant" not in names(commands) and "audit" not in names(commands)
        shown_language = language or "ar"  # DEFAULT_LANGUAGE
        assert commands[2]["description"] == label(shown_language, "onboarding.commands.profile")


async def test_staff_commands_only_in_staff_chats(staff_bot: BotHarness) -> None:
    api = staff_bot.api
    admin_menu = api.commands(scope=chat(ADMIN), language_code="en")
    assert {"start", "grant", "revoke", "staff", "audit"} <= set(names(admin_menu))
    described = {c["command"]: c["description"] for c in admin_menu}
    assert described["grant"] == label("en", "staff.commands.grant")
    assert names(api.commands(scope=chat(ADMIN), language_code="ar")) == names(admin_menu)
    group_menu = names(api.commands(scope=chat(MODERATOR_CHAT), language_code="en"))
    assert "grant" not in group_menu and "audit" not in group_menu

    # A new organiser gets a staff menu at once; losing the role takes it away.
    admin = staff_bot.user(ADMIN, "en")
    admin.command("/grant 9202 organiser")
    await admin.reply()
    await api.wait_for(lambda: api.commands(scope=chat(9202), language_code="") != [])
    organiser_menu = names(api.commands(scope=chat(9202), language_code="en"))
    assert "start" in organiser_menu and "grant" not in organiser_menu
    admin.command("/revoke 9202 organiser")
    await admin.reply()
    await api.wait_for(lambda: api.commands(scope=chat(9202), language_code="") == [])
    assert api.commands(scope=chat(9202), language_code="en") == []


async def test_help_shows_staff_their_commands(staff_bot: BotHarness) -> None:
    admin = staff_bot.user(ADMIN, "en")
    admin.command("/help")
    shown = (await admin.reply()).content
    assert "/grant" in shown and "/audit" in shown and "/profile" in shown
