"""An organiser writes an announcement with /broadcast: texts in both languages, a preview
exactly as members will see it, the audience count, confirm; each member gets it once, in
their language. Drafts can be discarded, bad input changes nothing, members never see it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.models import AuditEntry
from tests.broadcasts.test_broadcast_support import (
    add_members,
    broadcast_row,
    compose,
    delivered_text,
    label,
    make_organiser,
    member_row,
    messages_per_member,
    outbox_statuses,
    text,
)
from tests.support.harness import BotHarness

ORGANISER = 900
ARABIC = "أسبوع اللاعنف يبدأ يوم السبت في كل المحافظات."
ENGLISH = "Non-violence week starts on Saturday in every governorate."


async def test_an_organiser_announces_in_both_languages_and_each_member_reads_their_own(
    bot: BotHarness,
) -> None:
    now = bot.clock.now()
    await make_organiser(bot.db, ORGANISER, now)
    await add_members(
        bot.db,
        [
            member_row(1, now, language="ar", governorate="nineveh"),
            member_row(2, now, language="en", governorate="basra"),
            member_row(3, now, language=None, governorate="basra"),  # DEFAULT_LANGUAGE: ar
            member_row(4, now, language="en", subscribed=False),
            member_row(5, now, language="ar", unreachable=True),
            member_row(6, now, language="ar", consented=False),
        ],
    )
    organiser = bot.user(ORGANISER, "en", name="Organiser")

    draft = await compose(bot.api, organiser, "en", arabic=ARABIC, english=ENGLISH)
    row = await broadcast_row(bot.db)
    assert draft["notice"].content == text(
        "en", "broadcasts.flow.draft_ready", broadcast_id=row.id, total=3, ar=2, en=1
    )
    # The previews are exactly what members receive.
    assert draft["preview_ar"].content == delivered_text("ar", ARABIC)
    assert draft["preview_en"].content == delivered_text("en", ENGLISH)
    assert "<b>3</b>" in draft["card"].request_params["text"]
    assert bot.api.messages_to(1) == []  # nothing goes out before the organiser confirms

    organiser.press(draft["card"], text=label("en", "broadcasts.buttons.send"))
    report = await organiser.reply(timeout=30)
    assert report.content == text(
        "en", "broadcasts.report.done", broadcast_id=row.id, total=3, sent=3, blocked=0, failed=0
    )
    await bot.idle()
    assert [m.content for m in bot.api.messages_to(1)] == [delivered_text("ar", ARABIC)]
    assert [m.content for m in bot.api.messages_to(2)] == [delivered_text("en", ENGLISH)]
    assert [m.content for m in bot.api.messages_to(3)] == [delivered_text("ar", ARABIC)]
    for left_out in (4, 5, 6):
        assert bot.api.messages_to(left_out) == []
    # The card became the progress message and ends with the final figures.
    card = bot.api.get_message(ORGANISER, draft["card"].message_id)
    assert card is not None and card.content == report.content
    async with bot.db.unit_of_work() as uow:
        actions = list(
            await uow.session.scalars(
                select(AuditEntry.action).where(AuditEntry.record_type == "broadcast")
            )
        )
    assert actions == ["broadcast.draft", "broadcast.send"]

    organiser.command("/broadcasts")
    listing = await organiser.reply()
    assert f"#{row.id}" in listing.content and "Delivered 3 of 3" in listing.content


async def test_a_missing_language_falls_back_to_the_other_one(bot: BotHarness) -> None:
    now = bot.clock.now()
    await make_organiser(bot.db, ORGANISER, now)
    await add_members(
        bot.db, [member_row(1, now, language="ar"), member_row(2, now, language="en")]
    )
    organiser = bot.user(ORGANISER, "ar")

    draft = await compose(bot.api, organiser, "ar", arabic=None, english=ENGLISH)
    assert draft["preview_ar"].content == delivered_text("ar", ENGLISH)
    organiser.press(draft["card"], text=label("ar", "broadcasts.buttons.send"))
    await organiser.reply(timeout=30)
    await bot.idle()
    assert [m.content for m in bot.api.messages_to(1)] == [delivered_text("ar", ENGLISH)]
    assert [m.content for m in bot.api.messages_to(2)] == [delivered_text("en", ENGLISH)]


async def test_governorate_and_language_filters_combine_as_an_intersection(
    bot: BotHarness,
) -> None:
    now = bot.clock.now()
    await make_organiser(bot.db, ORGANISER, now)
    await add_members(
        bot.db,
        [
            member_row(1, now, language="ar", governorate="nineveh"),
            member_row(2, now, language="en", governorate="nineveh"),
            member_row(3, now, language="ar", governorate="basra"),
            member_row(4, now, language="ar", governorate="anbar"),
            member_row(5, now, language="ar", governorate="basra", subscribed=False),
        ],
    )
    organiser = bot.user(ORGANISER, "en")
    draft = await compose(
        bot.api,
        organiser,
        "en",
        arabic=ARABIC,
        english=None,
        governorates=("nineveh", "basra"),
        reads="ar",
    )
    card = draft["card"].content
    assert "Basra, Nineveh" in card and "Reads: Arabic" in card and "<b>2</b> members" in card
    organiser.press(draft["card"], text=label("en", "broadcasts.buttons.send"))
    await organiser.reply(timeout=30)
    await bot.idle()
    assert messages_per_member(bot.api, ARABIC, ORGANISER) == {1: 1, 3: 1}


async def test_a_scheduled_announcement_goes_out_once_at_its_time(bot: BotHarness) -> None:
    now = bot.clock.now()
    await make_organiser(bot.db, ORGANISER, now)
    await add_members(bot.db, [member_row(n, now, language="en") for n in range(1, 6)])
    organiser = bot.user(ORGANISER, "en")
    at = (now + timedelta(hours=2)).astimezone(bot.settings.timezone)
    draft = await compose(
        bot.api,
        organiser,
        "en",
        arabic=None,
        english=ENGLISH,
        send_at=at.strftime("%Y-%m-%d %H:%M"),
    )
    organiser.press(draft["card"], text=label("en", "broadcasts.buttons.schedule"))
    row = await broadcast_row(bot.db)

    def card_says_scheduled() -> bool:
        card = bot.api.get_message(ORGANISER, draft["card"].message_id)
        return card is not None and card.edits == 1

    await bot.api.wait_for(card_says_scheduled, timeout=20)
    assert row.send_at is not None
    card = bot.api.get_message(ORGANISER, draft["card"].message_id)
    assert card is not None and card.content == text(
        "en", "broadcasts.card.scheduled", broadcast_id=row.id, send_at=row.send_at
    )
    await bot.idle()
    assert messages_per_member(bot.api, ENGLISH, ORGANISER) == {}

    bot.clock.advance(timedelta(hours=2, minutes=1))
    report = await organiser.reply(timeout=30)
    assert report.content == text(
        "en", "broadcasts.report.done", broadcast_id=row.id, total=5, sent=5, blocked=0, failed=0
    )
    bot.clock.advance(timedelta(hours=3))
    await bot.idle()
    assert messages_per_member(bot.api, ENGLISH, ORGANISER) == {n: 1 for n in range(1, 6)}
    assert (await outbox_statuses(bot.db, row.id)) == {"sent": 5}


async def test_a_scheduled_announcement_can_be_cancelled_before_it_starts(
    bot: BotHarness,
) -> None:
    now = bot.clock.now()
    await make_organiser(bot.db, ORGANISER, now)
    await add_members(bot.db, [member_row(1, now, language="en")])
    organiser = bot.user(ORGANISER, "en")
    at = (now + timedelta(days=1)).astimezone(bot.settings.timezone)
    draft = await compose(
        bot.api,
        organiser,
        "en",
        arabic=ARABIC,
        english=ENGLISH,
        send_at=at.strftime("%d/%m/%Y %H:%M"),
    )
    organiser.press(draft["card"], text=label("en", "broadcasts.buttons.schedule"))
    row = await broadcast_row(bot.db)
    organiser.command("/broadcasts")
    listing = await organiser.reply()
    organiser.press(
        listing, text=label("en", "broadcasts.buttons.cancel_numbered", broadcast_id=row.id)
    )
    question = await organiser.reply()
    organiser.press(question, text=label("en", "broadcasts.buttons.confirm_cancel"))
    done = await organiser.reply()
    assert done.content == text(
        "en", "broadcasts.cancel.done", broadcast_id=row.id, sent=0, withdrawn=0
    )
    # Every reply's delivery recorded before the clock jumps two days: a reply claimed for
    # sending whose claim had expired by the (test) clock would be sent again.
    await bot.idle()
    bot.clock.advance(timedelta(days=2))
    await bot.idle()
    assert bot.api.messages_to(1) == []
    card = bot.api.get_message(ORGANISER, draft["card"].message_id)
    assert card is not None and card.content == text(
        "en",
        "broadcasts.report.cancelled",
        broadcast_id=row.id,
        sent=0,
        cancelled=0,
        blocked=0,
        failed=0,
    )
    organiser.press(question, text=label("en", "broadcasts.buttons.confirm_cancel"))
    assert (await organiser.reply()).content == text("en", "broadcasts.cancel.not_active")


async def test_a_draft_can_be_discarded_and_its_buttons_then_do_nothing(bot: BotHarness) -> None:
    now = bot.clock.now()
    await make_organiser(bot.db, ORGANISER, now)
    await add_members(bot.db, [member_row(1, now, language="ar")])
    organiser = bot.user(ORGANISER, "ar")
    draft = await compose(bot.api, organiser, "ar", arabic=ARABIC, english=None)
    row = await broadcast_row(bot.db)
    organiser.press(draft["card"], text=label("ar", "broadcasts.buttons.discard"))
    await bot.idle()
    card = bot.api.get_message(ORGANISER, draft["card"].message_id)
    assert card is not None
    assert card.content == text("ar", "broadcasts.card.discarded", broadcast_id=row.id)
    organiser.press(draft["card"], data=f"bc:go:{row.id}")  # the old button, pressed again
    assert (await organiser.reply()).content == text("ar", "broadcasts.errors.not_a_draft")
    organiser.press(draft["card"], data="bc:go:junk")
    assert (await organiser.reply()).content == text("ar", "broadcasts.errors.bad_button")
    await bot.idle()
    assert bot.api.messages_to(1) == []
