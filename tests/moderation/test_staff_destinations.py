"""Staff destinations that move or vanish (issue 14, point 4): a staff group upgraded to a
supergroup, the bot removed from the staff group, a moderator who blocked the bot. Cards
reach staff and an admin is told, in their language, every time."""

from __future__ import annotations

from sqlalchemy import select

from bot.engines.roles import Role
from bot.members.membership import record_consent
from storage.models import ChatMove, OutboxMessage
from tests.fake_telegram import FakeBotApi, SimulatedUser, TgChat
from tests.grievances.test_grievance_steps import (
    file_text_report,
    member_who_consented,
    reference_in,
    running_bot,
    staff_member,
)
from tests.moderation.test_moderation_steps import next_with
from tests.support.harness import BotHarness

OLD_GROUP, NEW_GROUP = -4_100_200, -1_004_100_200
ADMIN_AR, ADMIN_EN = 9501, 9502
MODERATOR_AR, MODERATOR_EN = 9511, 9512
MEMBER = 7501


async def admin_speaking(bot: BotHarness, user_id: int, language: str) -> None:
    async with bot.db.unit_of_work() as uow:
        await record_consent(
            uow, user_id, language=language, language_source="chosen", now=bot.clock.now()
        )
        await uow.commit()


async def moderator_speaking(bot: BotHarness, user_id: int, language: str) -> None:
    await staff_member(bot, user_id, Role.MODERATOR)
    await admin_speaking(bot, user_id, language)  # sets the stored language


async def test_a_staff_group_upgraded_to_a_supergroup_gets_its_cards_and_admins_are_told(
    fake_api: FakeBotApi, database_url: str
) -> None:
    settings = {"MODERATOR_CHAT_ID": str(OLD_GROUP), "ADMIN_IDS": f"{ADMIN_AR},{ADMIN_EN}"}
    async with running_bot(fake_api, database_url, **settings) as bot:
        await admin_speaking(bot, ADMIN_AR, "ar")
        await admin_speaking(bot, ADMIN_EN, "en")
        fake_api.upgrade_group(OLD_GROUP, NEW_GROUP)
        member = await member_who_consented(bot, MEMBER, "en")
        reference = reference_in(
            (await file_text_report(member, "The water is cut in Hilla.")).content
        )

        card = await fake_api.next_message(NEW_GROUP, timeout=20)
        assert reference in card.content

        told_en = await fake_api.next_message(ADMIN_EN, timeout=20)
        assert f"MODERATOR_CHAT_ID={NEW_GROUP}" in told_en.content
        assert "supergroup" in told_en.content
        told_ar = await fake_api.next_message(ADMIN_AR, timeout=20)
        assert str(NEW_GROUP) in told_ar.content
        assert "MODERATOR_CHAT_ID" in told_ar.content and "مجموعة" in told_ar.content
        assert "Hilla" not in told_en.content + told_ar.content

        async with bot.db.unit_of_work() as uow:
            moves = (
                await uow.session.execute(select(ChatMove.old_chat_id, ChatMove.new_chat_id))
            ).all()
        assert [tuple(move) for move in moves] == [(OLD_GROUP, NEW_GROUP)]

        # After a restart the remembered id is used at once: no further 400 from the old id.
        await bot.idle()
        await bot.restart()
        refusals = len(fake_api.calls_to("sendMessage"))
        second = reference_in((await file_text_report(member, "The school roof leaks.")).content)
        card = await fake_api.next_message(NEW_GROUP, timeout=20)
        assert second in card.content
        await bot.idle()
        later = fake_api.calls_to("sendMessage")[refusals:]
        assert all(int(call.params["chat_id"]) != OLD_GROUP for call in later)
        assert bot.runtime is not None and bot.runtime.services is not None
        assert bot.runtime.services.settings.moderator_chat_id == NEW_GROUP
        # The admins were told once, not again for the second card.
        await bot.idle()
        assert len(fake_api.messages_to(ADMIN_EN)) == 1


async def test_removed_from_the_staff_group_the_cards_go_to_each_moderator_and_admins_hear(
    fake_api: FakeBotApi, database_url: str
) -> None:
    settings = {"MODERATOR_CHAT_ID": str(OLD_GROUP), "ADMIN_IDS": f"{ADMIN_AR},{ADMIN_EN}"}
    async with running_bot(fake_api, database_url, **settings) as bot:
        await admin_speaking(bot, ADMIN_AR, "ar")
        await admin_speaking(bot, ADMIN_EN, "en")
        await moderator_speaking(bot, MODERATOR_AR, "ar")
        await moderator_speaking(bot, MODERATOR_EN, "en")
        fake_api.remove_bot_from(OLD_GROUP)
        member = await member_who_consented(bot, MEMBER, "en")
        reference = reference_in(
            (await file_text_report(member, "The clinic has no power.")).content
        )

        for moderator in (MODERATOR_AR, MODERATOR_EN):
            card = await fake_api.next_message(moderator, timeout=20)
            assert reference in card.content
            assert card.buttons(), "the private copy keeps its actions"
        told_en = await next_with(fake_api, ADMIN_EN, "privately")
        assert str(OLD_GROUP) in told_en.content and "kicked" in told_en.content
        told_ar = await next_with(fake_api, ADMIN_AR, "انفراد")
        assert str(OLD_GROUP) in told_ar.content

        # A second card: again to each moderator, but the admins are not told twice.
        second = reference_in((await file_text_report(member, "The bridge is closed.")).content)
        for moderator in (MODERATOR_AR, MODERATOR_EN):
            await bot.idle()
            assert any(second in message.content for message in fake_api.messages_to(moderator))
        for admin, fragment in ((ADMIN_EN, "privately"), (ADMIN_AR, "انفراد")):
            alerts = [m for m in fake_api.messages_to(admin) if fragment in m.content]
            assert len(alerts) == 1


async def test_an_urgent_card_a_moderator_cannot_receive_is_never_failed_unseen(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url, ADMIN_IDS=str(ADMIN_EN)) as bot:
        await admin_speaking(bot, ADMIN_EN, "en")
        await moderator_speaking(bot, MODERATOR_EN, "en")
        fake_api.block_chat(MODERATOR_EN)
        member = await member_who_consented(bot, MEMBER, "en")
        confirmation = await file_text_report(
            member, "Someone threatened my family.", urgency="urgent"
        )
        reference = reference_in(confirmation.content)
        await bot.idle()
        told = [
            m
            for m in fake_api.messages_to(ADMIN_EN)
            if "could not be delivered" in m.content and reference in m.content
        ]
        assert len(told) == 1, fake_api.describe_recent_calls()
        assert str(MODERATOR_EN) in told[0].content
        assert f"/case {reference}" in told[0].content
        assert "threatened" not in told[0].content
        async with bot.db.unit_of_work() as uow:
            errors = list(
                await uow.session.scalars(
                    select(OutboxMessage.error).where(OutboxMessage.chat_id == MODERATOR_EN)
                )
            )
        assert any(error and "blocked" in error for error in errors)


async def test_a_direct_reply_in_a_group_just_upgraded_reaches_the_supergroup(
    fake_api: FakeBotApi, database_url: str
) -> None:
    """A moderator's command in the staff group, answered after the group became a
    supergroup: the reply follows the move (it used to be marked failed) and admins hear."""
    settings = {"MODERATOR_CHAT_ID": str(OLD_GROUP), "ADMIN_IDS": str(ADMIN_EN)}
    async with running_bot(fake_api, database_url, **settings) as bot:
        await admin_speaking(bot, ADMIN_EN, "en")
        moderator = await staff_member(bot, MODERATOR_EN, Role.MODERATOR)
        in_group = SimulatedUser(fake_api, moderator.user, TgChat(OLD_GROUP, "group", "Staff"))
        fake_api.upgrade_group(OLD_GROUP, NEW_GROUP)
        in_group.command("/queue")
        answer = await fake_api.next_message(NEW_GROUP, timeout=20)
        assert "queue" in answer.content.lower() or "case" in answer.content.lower()
        told = await fake_api.next_message(ADMIN_EN, timeout=20)
        assert f"MODERATOR_CHAT_ID={NEW_GROUP}" in told.content
        await bot.idle()
        async with bot.db.unit_of_work() as uow:
            statuses = (
                await uow.session.execute(
                    select(OutboxMessage.status).where(OutboxMessage.method == "sendMessage")
                )
            ).scalars()
            moves = (
                await uow.session.execute(select(ChatMove.old_chat_id, ChatMove.new_chat_id))
            ).all()
        assert "failed" not in set(statuses)
        assert [tuple(move) for move in moves] == [(OLD_GROUP, NEW_GROUP)]
