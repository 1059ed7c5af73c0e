"""Every staff command and staff button refuses everyone its roles do not allow (SPEC §4).

The handlers are enumerated from the running application, so a staff command added later is
checked without touching this file; a staff command declared without the guard fails here.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import find
from hypothesis import strategies as st
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from admin.access import allowed_roles_of
from bot.engines.command_menu import STAFF_COMMANDS_ATTRIBUTE
from bot.engines.roles import Role, grant_role, may_act
from bot.runtime.application import FEATURES
from handlers.command_menus import feature_modules
from tests.fake_telegram import SimulatedUser
from tests.members.test_onboarding_steps import audit_count, join, staff_rows, text
from tests.support.harness import BotHarness


@dataclass(frozen=True)
class Persona:
    name: str
    user_id: int
    role: Role | None = None
    member: bool = False


def all_handlers(bot: BotHarness) -> list[BaseHandler]:  # type: ignore[type-arg]
    assert bot.runtime is not None and bot.runtime.application is not None
    return [h for group in bot.runtime.application.handlers.values() for h in group]


def declared_staff_commands(bot: BotHarness) -> set[str]:
    assert bot.runtime is not None and bot.runtime.application is not None
    modules = {*FEATURES, *feature_modules(bot.runtime.application)}
    return {
        command
        for module in modules
        for command, _key in getattr(module, STAFF_COMMANDS_ATTRIBUTE, ())
    }


def forged_data_for(handler: CallbackQueryHandler) -> str:  # type: ignore[type-arg]
    pattern = getattr(handler.pattern, "pattern", None)
    assert isinstance(pattern, str), "a staff button handler needs a pattern"
    return find(st.from_regex(pattern), lambda s: 0 < len(s.encode()) <= 64 and "\n" not in s)


def personas_refused_by(allowed: frozenset[Role]) -> list[Persona]:
    people = [Persona("stranger", 8001), Persona("member", 8002, member=True)]
    for offset, role in enumerate(Role):
        if not may_act({role}, allowed):
            people.append(Persona(role.value, 8010 + offset, role=role))
    return people


async def prepare(bot: BotHarness) -> None:
    member = bot.user(8002, "en")
    await join(bot, member, "en")
    async with bot.db.unit_of_work() as uow:
        for offset, role in enumerate(Role):
            await grant_role(
                uow, actor_id=None, user_id=8010 + offset, role=role, now=bot.clock.now()
            )
        await uow.commit()


async def test_every_staff_handler_refuses_every_role_that_may_not_use_it(
    bot: BotHarness,
) -> None:
    await prepare(bot)
    handlers = all_handlers(bot)
    staff_commands = declared_staff_commands(bot)
    guarded = [h for h in handlers if allowed_roles_of(h.callback) is not None]
    assert guarded, "no staff handler found"

    # A declared staff command is never registered without the guard.
    for handler in handlers:
        if isinstance(handler, CommandHandler) and handler.commands & staff_commands:
            assert allowed_roles_of(handler.callback) is not None, handler.commands
    registered = {c for h in handlers if isinstance(h, CommandHandler) for c in h.commands}
    assert staff_commands <= registered
    assert {"grant", "revoke", "staff", "audit"} <= staff_commands

    audit_before, roles_before = await audit_count(bot), await staff_rows(bot)
    unknown = text("en", "errors.unknown_command")
    stale = text("en", "flow.stale_button_no_flow")
    checked = 0
    for handler in guarded:
        allowed = allowed_roles_of(handler.callback)
        assert allowed is not None
        for persona in personas_refused_by(allowed):
            user = bot.user(persona.user_id, "en")
            if isinstance(handler, CommandHandler):
                for command in sorted(handler.commands):
                    user.command(f"/{command} {persona.user_id} admin")
                    reply = await user.reply()
                    assert reply.content == unknown, (command, persona)
                    checked += 1
            elif isinstance(handler, CallbackQueryHandler):
                checked += await press_forged(bot, user, forged_data_for(handler), stale)
            else:
                raise AssertionError(f"teach this test to drive {type(handler).__name__}")
    await bot.idle()
    assert checked >= 4
    assert await audit_count(bot) == audit_before
    assert await staff_rows(bot) == roles_before


async def press_forged(bot: BotHarness, user: SimulatedUser, data: str, stale: str) -> int:
    user.command("/help")
    shown = await user.reply()
    before = len(user.messages())
    calls_before = len(bot.api.calls_to("answerCallbackQuery"))
    user.press(shown, data=data)
    await bot.idle()
    answers = bot.api.calls_to("answerCallbackQuery")[calls_before:]
    assert [call.params.get("text") for call in answers] == [stale], data
    assert len(user.messages()) == before, (data, user.last_message().content)
    return 1


async def test_a_moderator_cannot_grant_and_a_stranger_gets_the_unknown_command_answer(
    bot: BotHarness,
) -> None:
    async with bot.db.unit_of_work() as uow:
        await grant_role(
            uow, actor_id=None, user_id=8101, role=Role.MODERATOR, now=bot.clock.now()
        )
        await uow.commit()
    before = await audit_count(bot)
    moderator = bot.user(8101, "ar")
    moderator.command("/grant 8101 admin")
    assert (await moderator.reply()).content == text("ar", "errors.unknown_command")
    stranger = bot.user(8102, "en")
    for command in ("/grant 8102 admin", "/staff", "/revoke 8101 moderator", "/audit"):
        stranger.command(command)
        assert (await stranger.reply()).content == text("en", "errors.unknown_command")
    stranger.command("/help")
    shown = await stranger.reply()
    stranger.press(shown, data="audit:older:999999")
    await bot.idle()
    assert bot.api.calls_to("answerCallbackQuery")[-1].params.get("text") == text(
        "en", "flow.stale_button_no_flow"
    )
    assert await audit_count(bot) == before
    assert await staff_rows(bot) == [(8101, "moderator")]
