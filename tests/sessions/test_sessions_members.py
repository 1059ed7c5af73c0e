"""Members and sessions over the fake Bot API: a crowd pressing "register" at once, the list
and its pages, deep links, and every kind of bad input answered clearly with nothing changed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.sessions.organising import cancel_session, change_time_or_place
from storage.models import SessionRegistration
from tests.sessions.test_sessions_support import (
    CATALOGUE,
    add_member,
    add_session,
    idle,
    label,
    registrations,
    statuses,
    take_place,
    text,
)
from tests.support.harness import BotHarness

TITLE = "Mosul youth dialogue"


async def test_a_hundred_members_pressing_register_at_once_get_forty_seats_and_sixty_waiting(
    bot: BotHarness,
) -> None:
    now = bot.clock.now()
    session_id = await add_session(bot.db, now, capacity=40, title=TITLE)
    crowd = [bot.user(20_000 + n, "en") for n in range(100)]
    for member in crowd:
        await add_member(bot.db, member.user.id, now=now)
        member.command("/sessions")
    listings = [await member.reply(timeout=60) for member in crowd]
    for member, listing in zip(crowd, listings, strict=True):
        member.press(listing, text=label("en", "sessions.buttons.register", title=TITLE))
    answers = [await member.reply(timeout=120) for member in crowd]
    await idle(bot)
    rows = await registrations(bot.db, session_id)
    assert statuses(rows) == {"confirmed": 40, "waiting": 60}
    assert sum(a.content.startswith("✅") for a in answers) == 40
    assert sum(a.content.startswith("⏳") for a in answers) == 60


async def test_the_list_shows_the_members_governorate_first_and_pages(bot: BotHarness) -> None:
    now = bot.clock.now()
    for n in range(6):
        await add_session(
            bot.db,
            now,
            title=f"Basra talk {n}",
            governorate="basra",
            starts_in=timedelta(days=1, hours=n),
        )
    await add_session(
        bot.db, now, title="Mosul talk", governorate="nineveh", starts_in=timedelta(days=9)
    )
    await add_member(bot.db, 31, governorate="nineveh", now=now)
    member = bot.user(31, "en")
    member.command("/sessions")
    first_page = await member.reply()
    assert first_page.button_texts()[0] == label(
        "en", "sessions.buttons.register", title="Mosul talk"
    )
    assert "page 1 of 2" in first_page.content
    member.press(first_page, text=label("en", "sessions.buttons.next"))
    second_page = await member.reply()
    assert "page 2 of 2" in second_page.content and "Basra talk 5" in second_page.content


async def test_a_second_registration_shows_the_same_place_and_changes_nothing(
    bot: BotHarness,
) -> None:
    now = bot.clock.now()
    session_id = await add_session(bot.db, now, capacity=5, title=TITLE)
    await add_member(bot.db, 41, now=now)
    member = bot.user(41, "en")
    member.command("/sessions")
    listing = await member.reply()
    member.press(listing, text=label("en", "sessions.buttons.register", title=TITLE))
    first, _qr, _ics = await member.replies(3)
    member.press(listing, text=label("en", "sessions.buttons.register", title=TITLE))
    assert (await member.reply()).content == text("en", "sessions.errors.already")
    again = await member.reply()
    # Resent, the ticket does not say "You are registered" a second time.
    assert first.content.startswith("✅ <b>You are registered.</b>")
    assert again.content.startswith("🎟 <b>Your registration</b>")
    assert "You are registered" not in again.content
    assert again.content.split("\n", 1)[1] == first.content.split("\n", 1)[1]
    await idle(bot)
    assert statuses(await registrations(bot.db, session_id)) == {"confirmed": 1}


async def test_old_buttons_after_a_change_and_registering_for_a_cancelled_session(
    bot: BotHarness,
) -> None:
    now = bot.clock.now()
    session_id = await add_session(bot.db, now, capacity=5, title=TITLE)
    await add_member(bot.db, 51, now=now)
    member = bot.user(51, "en")
    member.command("/sessions")
    listing = await member.reply()

    async with bot.db.unit_of_work() as uow:
        await change_time_or_place(
            uow,
            CATALOGUE,
            session_id,
            expected_version=1,
            starts_at=None,
            ends_at=None,
            venue="Another hall",
            actor_id=1,
            now=now,
        )
        await uow.commit()
    member.press(listing, text=label("en", "sessions.buttons.register", title=TITLE))
    assert (await member.reply()).content == text("en", "sessions.errors.changed")
    card = await member.reply()
    assert "Another hall" in card.content
    await idle(bot)
    assert await registrations(bot.db, session_id) == []

    async with bot.db.unit_of_work() as uow:
        await cancel_session(uow, CATALOGUE, session_id, expected_version=2, actor_id=1, now=now)
        await uow.commit()
    member.press(card, text=label("en", "sessions.buttons.register", title=TITLE))
    assert (await member.reply()).content == text("en", "sessions.errors.cancelled_short")
    for forged in ("ses:r:abc:1", "ses:zz:1", "ses:r:1", "ses:x:99999", "sfb:junk"):
        member.press(card, data=forged)
        reply = await member.reply()
        assert reply.content in {
            text("en", "sessions.errors.bad_button"),
            text("en", "sessions.errors.no_registration"),
        }
    await idle(bot)
    assert await registrations(bot.db, session_id) == []


async def test_registration_closes_when_the_session_starts(bot: BotHarness) -> None:
    now = bot.clock.now()
    await add_session(bot.db, now, capacity=5, title=TITLE, starts_in=timedelta(hours=1))
    await add_member(bot.db, 61, language="ar", now=now)
    member = bot.user(61, "ar")
    member.command("/sessions")
    listing = await member.reply()
    bot.clock.advance(timedelta(hours=2))
    member.press(listing, data=listing.buttons()[0][1])
    assert (await member.reply()).content == text("ar", "sessions.errors.started_short")


async def test_a_deep_link_from_a_poster_opens_the_session_with_its_register_button(
    bot: BotHarness,
) -> None:
    now = bot.clock.now()
    session_id = await add_session(bot.db, now, capacity=5, title=TITLE)
    await add_member(bot.db, 71, now=now)
    member = bot.user(71, "en")
    member.command(f"/start s{session_id}")
    card = await member.reply()
    assert TITLE in card.content
    assert card.button_texts() == [label("en", "sessions.buttons.register", title=TITLE)]
    ticket = await take_place(member, card, card.buttons()[0][1])
    assert ticket.content.startswith("✅")
    member.command("/start s999999")
    assert (await member.reply()).content == text("en", "sessions.errors.not_found")


async def test_without_consent_registering_asks_for_consent_and_stores_nothing(
    bot: BotHarness,
) -> None:
    now = bot.clock.now()
    session_id = await add_session(bot.db, now, capacity=5, title=TITLE)
    stranger = bot.user(81, "en")
    stranger.command("/sessions")
    listing = await stranger.reply()
    stranger.press(listing, text=label("en", "sessions.buttons.register", title=TITLE))
    assert (await stranger.reply()).content == text("en", "consent.required")
    await idle(bot)
    assert await registrations(bot.db, session_id) == []


async def test_mysessions_lists_places_and_a_member_can_keep_or_cancel(bot: BotHarness) -> None:
    now = bot.clock.now()
    session_id = await add_session(bot.db, now, capacity=1, title=TITLE)
    await add_member(bot.db, 91, now=now)
    await add_member(bot.db, 92, language="ar", now=now)
    first, second = bot.user(91, "en"), bot.user(92, "ar")
    for member, language, key in ((first, "en", "register"), (second, "ar", "waitlist")):
        member.command("/sessions")
        listing = await member.reply()
        assert listing.button_texts()[0] == label(language, f"sessions.buttons.{key}", title=TITLE)
        await take_place(member, listing, listing.buttons()[0][1])
    first.command("/mysessions")
    mine = await first.reply()
    assert TITLE in mine.content
    first.press(mine, text=label("en", "sessions.buttons.cancel"))
    confirm = await first.reply()
    first.press(confirm, text=label("en", "sessions.buttons.keep"))
    assert (await first.reply()).content == text("en", "sessions.mine.kept")
    first.press(confirm, text=label("en", "sessions.buttons.confirm_cancel"))
    assert (await first.reply()).content.startswith("Your place")
    first.press(confirm, text=label("en", "sessions.buttons.confirm_cancel"))
    assert (await first.reply()).content == text("en", "sessions.errors.no_registration")
    await idle(bot)
    rows = await registrations(bot.db, session_id)
    assert [(uid, status) for uid, status, _ in rows] == [(91, "cancelled"), (92, "confirmed")]
    first.command("/mysessions")
    assert (await first.reply()).content == text("en", "sessions.mine.empty")


async def test_deletemydata_gives_up_places_and_unlinks_the_member(bot: BotHarness) -> None:
    now = bot.clock.now()
    session_id = await add_session(bot.db, now, capacity=1, title=TITLE)
    await add_member(bot.db, 95, now=now)
    await add_member(bot.db, 96, now=now)
    holder, waiting = bot.user(95, "en"), bot.user(96, "en")
    for member in (holder, waiting):
        member.command("/sessions")
        listing = await member.reply()
        await take_place(member, listing, listing.buttons()[0][1])
    holder.command("/deletemydata")
    confirm = await holder.reply()
    holder.press(confirm, text=label("en", "onboarding.erase.confirm_button"))
    assert (await holder.reply()).content == text("en", "onboarding.erase.done")
    promoted = await waiting.reply(timeout=30)
    assert promoted.content.startswith("🎉")
    async with bot.db.unit_of_work() as uow:
        linked = list(
            await uow.session.scalars(
                select(SessionRegistration.user_id).where(
                    SessionRegistration.session_id == session_id
                )
            )
        )
    assert sorted(linked, key=lambda uid: uid or 0) == [None, 96]


async def test_the_card_says_how_many_of_the_seats_left_are_kept_for_women_or_youth(
    bot: BotHarness,
) -> None:
    now = bot.clock.now()
    session_id = await add_session(
        bot.db, now, capacity=3, reserved_women=1, reserved_youth=1, title=TITLE
    )
    await add_member(bot.db, 81, gender="male", age_group="35_49", now=now)
    await add_member(bot.db, 82, gender="male", age_group="50_plus", now=now, language="ar")
    first = bot.user(81, "en")
    first.command(f"/start s{session_id}")
    card = await first.reply()
    assert "Seats left: 3 (2 of them kept for women or young people)" in card.content
    assert (await take_place(first, card, card.buttons()[0][1])).content.startswith("✅")

    second = bot.user(82, "ar")
    second.command(f"/start s{session_id}")
    card = await second.reply()
    # Two seats are left and both are held: the man who is not young will wait for one.
    two = "\u2068٢\u2069"  # numbers are isolated in Arabic text, in Arabic-Indic digits
    assert f"المقاعد المتبقية: {two} (منها {two} مخصصة للنساء أو الشباب)" in card.content
