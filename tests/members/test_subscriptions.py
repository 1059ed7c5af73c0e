"""Members opt out of announcements with /unsubscribe and back in with /subscribe; someone
who has not consented yet is asked to first. Unsubscribed members are left out of every
audience, while service messages (here: the outbox's own queue) still reach them."""

from __future__ import annotations

from sqlalchemy import select

from bot.engines.outbox import queue_text
from storage.models import Member
from tests.broadcasts.test_broadcast_support import (
    add_members,
    compose,
    label,
    make_organiser,
    member_row,
    messages_per_member,
    text,
)
from tests.fake_telegram import SimulatedUser, TgChat, TgUser
from tests.support.harness import BotHarness

ORGANISER = 900
ENGLISH = "Community clean-up on Friday morning."


async def subscribed(bot: BotHarness, user_id: int) -> bool | None:
    async with bot.db.unit_of_work() as uow:
        value: bool | None = await uow.session.scalar(
            select(Member.subscribed).where(Member.user_id == user_id)
        )
        return value


async def test_a_member_unsubscribes_and_subscribes_again_in_arabic(bot: BotHarness) -> None:
    now = bot.clock.now()
    await add_members(bot.db, [member_row(1, now, language="ar")])
    member = bot.user(1, "ar")

    member.command("/unsubscribe")
    assert (await member.reply()).content == text("ar", "broadcasts.subscription.unsubscribe_done")
    assert await subscribed(bot, 1) is False
    member.command("/unsubscribe")
    assert (await member.reply()).content == text(
        "ar", "broadcasts.subscription.unsubscribe_already"
    )
    member.command("/subscribe")
    assert (await member.reply()).content == text("ar", "broadcasts.subscription.subscribe_done")
    member.command("/subscribe")
    assert (await member.reply()).content == text(
        "ar", "broadcasts.subscription.subscribe_already"
    )
    assert await subscribed(bot, 1) is True


async def test_someone_without_consent_is_asked_for_it_and_nothing_is_stored(
    bot: BotHarness,
) -> None:
    stranger = bot.user(5, "en")
    stranger.command("/unsubscribe")
    prompt = await stranger.reply()
    assert prompt.content == text("en", "consent.required")
    assert prompt.button_texts() == [label("en", "consent.show_notice")]
    assert await subscribed(bot, 5) is None


async def test_unsubscribed_members_miss_announcements_but_still_get_service_messages(
    bot: BotHarness,
) -> None:
    now = bot.clock.now()
    await make_organiser(bot.db, ORGANISER, now)
    await add_members(
        bot.db, [member_row(1, now, language="en"), member_row(2, now, language="en")]
    )
    leaving = bot.user(2, "en")
    leaving.command("/unsubscribe")
    await leaving.reply()

    organiser = bot.user(ORGANISER, "en")
    draft = await compose(bot.api, organiser, "en", arabic=None, english=ENGLISH)
    assert "<b>1</b> members" in draft["card"].content
    organiser.press(draft["card"], text=label("en", "broadcasts.buttons.send"))
    await organiser.reply(timeout=30)
    # A reminder-like service message still reaches the member who unsubscribed.
    async with bot.db.unit_of_work() as uow:
        await queue_text(uow, chat_id=2, text="Reminder: your session starts at 18:00.", now=now)
        await uow.commit()
    await bot.idle()
    assert messages_per_member(bot.api, ENGLISH, ORGANISER) == {1: 1}
    assert leaving.last_message().content == "Reminder: your session starts at 18:00."


async def test_words_after_the_command_are_ignored(bot: BotHarness) -> None:
    now = bot.clock.now()
    await add_members(bot.db, [member_row(1, now, language="en")])
    member = bot.user(1, "en")
    member.command("/unsubscribe now please")
    assert (await member.reply()).content == text("en", "broadcasts.subscription.unsubscribe_done")
    assert await subscribed(bot, 1) is False


async def test_unsubscribe_in_a_group_chat_changes_nothing(bot: BotHarness) -> None:
    now = bot.clock.now()
    await add_members(bot.db, [member_row(1, now, language="en")])
    in_group = SimulatedUser(
        bot.api, TgUser(1, "Member", language_code="en"), chat=TgChat(-100_777, "supergroup")
    )
    in_group.command("/unsubscribe")
    await in_group.reply()  # the group is pointed to the private chat
    await bot.idle()
    assert await subscribed(bot, 1) is True
