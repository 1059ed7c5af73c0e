"""Bad input while writing an announcement gets a clear answer and changes nothing; a photo
goes out with the text as its caption; members cannot use the organisers' commands."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Broadcast
from tests.broadcasts.test_broadcast_support import (
    add_members,
    delivered_text,
    draft_messages,
    label,
    make_organiser,
    member_row,
    text,
)
from tests.fake_telegram import factories
from tests.support.harness import BotHarness

ORGANISER = 900
POSTER = "https://example.org/non-violence-week.jpg"


async def broadcasts_stored(bot: BotHarness) -> int:
    async with bot.db.unit_of_work() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(Broadcast)) or 0)


async def test_bad_input_at_every_step_is_answered_and_nothing_is_lost(bot: BotHarness) -> None:
    now = bot.clock.now()
    await make_organiser(bot.db, ORGANISER, now)
    await add_members(bot.db, [member_row(1, now, language="ar")])
    organiser = bot.user(ORGANISER, "ar")

    organiser.command("/broadcast")
    prompt = await organiser.reply()
    organiser.send_sticker()
    unsupported, prompt = await organiser.replies(2)
    assert unsupported.content == text("ar", "flow.unsupported_message")
    organiser.send("x" * 3501)
    notice, prompt = await organiser.replies(2)
    assert notice.content == text("ar", "broadcasts.invalid.too_long", limit=3500)
    organiser.press(prompt, text=label("ar", "flow.skip"))
    english_prompt = await organiser.reply()
    organiser.press(english_prompt, text=label("ar", "flow.skip"))  # both skipped: refused
    notice, english_prompt = await organiser.replies(2)
    assert notice.content == text("ar", "broadcasts.invalid.no_text")
    organiser.send("   ")
    notice, english_prompt = await organiser.replies(2)
    assert notice.content == text("ar", "broadcasts.invalid.text_expected")
    organiser.send("Y" * 1000)
    media_prompt = await organiser.reply()
    organiser.send_voice()
    notice, media_prompt = await organiser.replies(2)
    assert notice.content == text("ar", "broadcasts.invalid.media_kind")
    organiser.send_photo()  # the text is too long for a caption
    notice, media_prompt = await organiser.replies(2)
    assert notice.content == text("ar", "broadcasts.invalid.caption_too_long", limit=900)
    organiser.send("not media")
    notice, media_prompt = await organiser.replies(2)
    assert notice.content == text("ar", "broadcasts.invalid.media_expected")
    organiser.press(media_prompt, text=label("ar", "flow.skip"))
    audience = await organiser.reply()
    organiser.send("everyone")
    notice, audience = await organiser.replies(2)
    assert notice.content == text("ar", "flow.use_buttons")
    organiser.press(audience, text=label("ar", "broadcasts.flow.filter_session"))
    await organiser.reply()
    organiser.send("الجلسة")
    notice, _again = await organiser.replies(2)
    assert notice.content == text("ar", "broadcasts.invalid.not_an_id")
    organiser.send("#١٢")  # Arabic-Indic digits are read
    audience = await organiser.reply()
    assert "١٢" in audience.content
    organiser.press(audience, text=label("ar", "broadcasts.flow.filter_clear"))
    audience = await organiser.reply()
    assert label("ar", "broadcasts.audience.everyone") in audience.content
    organiser.press(audience, text=label("ar", "broadcasts.flow.audience_continue"))
    timing = await organiser.reply()
    organiser.press(timing, text=label("ar", "broadcasts.flow.send_later"))
    await organiser.reply()
    for junk, reason in (("غدًا", "send_at_format"), ("2001-01-01 10:00", "send_at_past")):
        organiser.send(junk)
        notice, _again = await organiser.replies(2)
        assert notice.content == text("ar", f"broadcasts.invalid.{reason}")
    assert await broadcasts_stored(bot) == 0
    organiser.press(timing, data=timing.buttons()[0][1])  # a button of an earlier question
    stale, _again = await organiser.replies(2)
    assert stale.content == text("ar", "flow.stale_button")
    organiser.command("/cancel")
    assert (await organiser.reply()).content == text("ar", "flow.cancelled")
    await bot.idle()
    assert await broadcasts_stored(bot) == 0
    assert bot.api.messages_to(1) == []


async def test_a_photo_goes_out_with_the_text_as_its_caption(bot: BotHarness) -> None:
    now = bot.clock.now()
    await make_organiser(bot.db, ORGANISER, now)
    await add_members(bot.db, [member_row(1, now, language="en"), member_row(2, now)])
    organiser = bot.user(ORGANISER, "en")
    organiser.command("/broadcast")
    await organiser.reply()
    organiser.send("أسبوع اللاعنف")
    await organiser.reply()
    organiser.send("Non-violence week")
    await organiser.reply()
    # The fake Bot API only accepts file ids it issued itself (or URLs) when they are sent
    # back, so the organiser's photo is referred to by URL here.
    photo = factories.photo_message(organiser.user, message_id=organiser._next_message_id())
    photo["message"]["photo"][-1]["file_id"] = POSTER
    bot.api.push_update(photo)
    audience = await organiser.reply()
    organiser.press(audience, text=label("en", "broadcasts.flow.audience_continue"))
    timing = await organiser.reply()
    organiser.press(timing, text=label("en", "broadcasts.flow.send_now"))
    draft = await draft_messages(organiser)
    assert draft["preview_en"].kind == "photo"
    assert draft["preview_en"].content == delivered_text("en", "Non-violence week")
    organiser.press(draft["card"], text=label("en", "broadcasts.buttons.send"))
    await organiser.reply(timeout=30)
    await bot.idle()
    for member, language, body in ((1, "en", "Non-violence week"), (2, "ar", "أسبوع اللاعنف")):
        (received,) = bot.api.messages_to(member)
        assert received.kind == "photo"
        assert received.content == delivered_text(language, body)
        assert received.request_params["photo"] == POSTER


async def test_members_cannot_broadcast_or_press_organiser_buttons(bot: BotHarness) -> None:
    now = bot.clock.now()
    await add_members(bot.db, [member_row(1, now, language="en")])
    member = bot.user(1, "en")
    for command in ("/broadcast", "/broadcasts"):
        member.command(command)
        assert (await member.reply()).content == text("en", "errors.unknown_command")
    await bot.idle()
    assert await broadcasts_stored(bot) == 0
