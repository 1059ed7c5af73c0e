"""Shared steps of the grievance tests: a bot configured for them, members who have given
consent, staff, and walking /report as a member would (no tests in this module)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import func, select

from bot.engines.roles import Role, grant_role
from bot.members.membership import record_consent
from storage.models import Grievance
from tests.fake_telegram import FakeBotApi, SentMessage, SimulatedUser
from tests.support.harness import BotHarness

# The real flood control answers a burst of >8 messages in 10 s once and then goes quiet;
# tests walk a report much faster than a person, so they raise the limit.
TEST_SETTINGS = {"HIWAR_FLOOD_MESSAGES": "1000"}
STEP_TIMEOUT = 20.0


@asynccontextmanager
async def running_bot(
    api: FakeBotApi, database_url: str, **settings: str
) -> AsyncIterator[BotHarness]:
    harness = BotHarness(api, database_url, **{**TEST_SETTINGS, **settings})
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def member_who_consented(
    bot: BotHarness, user_id: int, language: str = "en"
) -> SimulatedUser:
    async with bot.db.unit_of_work() as uow:
        await record_consent(
            uow, user_id, language=language, language_source="chosen", now=bot.clock.now()
        )
        await uow.commit()
    return bot.user(user_id, language_code=language, name=f"Member {user_id}")


async def staff_member(
    bot: BotHarness, user_id: int, role: Role = Role.MODERATOR
) -> SimulatedUser:
    async with bot.db.unit_of_work() as uow:
        await grant_role(uow, actor_id=None, user_id=user_id, role=role, now=bot.clock.now())
        await record_consent(
            uow, user_id, language="en", language_source="chosen", now=bot.clock.now()
        )
        await uow.commit()
    return bot.user(user_id, language_code="en", name=f"Staff {user_id}")


async def next_reply(user: SimulatedUser) -> SentMessage:
    return await user.reply(timeout=STEP_TIMEOUT)


def button_data(message: SentMessage, value: str) -> str:
    """The callback data of the flow button for `value` (flow buttons are `f:VERSION:value`)."""
    matches = [data for _, data in message.buttons() if data.endswith(f":{value}")]
    assert len(matches) == 1, f"no single button {value!r} in {message.buttons()}"
    return matches[0]


async def choose(user: SimulatedUser, message: SentMessage, value: str) -> SentMessage:
    user.press(message, data=button_data(message, value))
    return await next_reply(user)


async def report_until_description(
    user: SimulatedUser,
    *,
    category: str = "public_services",
    governorate: str = "basra",
    area: str | None = None,
) -> SentMessage:
    """/report up to the description question; returns that question."""
    user.command("/report")
    prompt = await next_reply(user)
    prompt = await choose(user, prompt, category)
    prompt = await choose(user, prompt, governorate)
    if area is None:
        return await choose(user, prompt, "~skip")
    user.send(area)
    return await next_reply(user)


async def finish_report(
    user: SimulatedUser,
    description_prompt: SentMessage,
    *,
    urgency: str = "low",
    contact: str = "anonymous",
    contact_details: str | None = None,
) -> SentMessage:
    """Done → urgency → contact → submit; returns the confirmation."""
    prompt = await choose(user, description_prompt, "~done")
    prompt = await choose(user, prompt, urgency)
    prompt = await choose(user, prompt, contact)
    if contact == "contactable":
        if contact_details is None:
            prompt = await choose(user, prompt, "~skip")
        else:
            user.send(contact_details)
            prompt = await next_reply(user)
    return await choose(user, prompt, "submit")


async def file_text_report(user: SimulatedUser, text: str, **options: str) -> SentMessage:
    prompt = await report_until_description(user)
    user.send(text)
    prompt = await next_reply(user)
    return await finish_report(user, prompt, **options)


async def grievance_count(bot: BotHarness) -> int:
    async with bot.db.unit_of_work() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(Grievance)) or 0)


def reference_in(text: str) -> str:
    import re

    match = re.search(r"GR-[0-9A-Z]{4}-[0-9A-Z]{4}", text)
    assert match is not None, text
    return match.group()
