"""A new member arrives: /start, consent first, the main menu, languages and deep links."""

from __future__ import annotations

from sqlalchemy import select

from bot.members.language import detect_text_language
from handlers import deep_links
from storage.models import Member
from tests.fake_telegram import SimulatedUser, TgChat
from tests.fake_telegram.records import SentMessage
from tests.members.test_onboarding_steps import join, label, member_row, text
from tests.support.harness import BotHarness


async def test_an_arabic_speaker_is_asked_for_consent_first_and_nothing_is_stored_before(
    bot: BotHarness,
) -> None:
    salma = bot.user(5001, "ar")
    salma.command("/start")
    greeting, notice = await salma.replies(2)
    assert greeting.content == text("ar", "onboarding.greeting")
    assert notice.content == text("ar", "onboarding.privacy_notice")
    assert notice.button_texts() == [
        label("ar", "onboarding.consent.agree_button"),
        label("ar", "onboarding.consent.decline_button"),
    ]
    await bot.idle()
    assert await member_row(bot, 5001) is None

    salma.press(notice, text=label("ar", "onboarding.consent.agree_button"))
    thanks, menu = await salma.replies(2)
    assert thanks.content == text("ar", "onboarding.consent.thanks")
    assert menu.content == text("ar", "onboarding.menu.title")
    assert label("ar", "onboarding.menu.sessions") in menu.button_texts()
    member = await member_row(bot, 5001)
    assert member is not None and member.consented_at is not None
    assert (member.language, member.language_source) == ("ar", "telegram")
    assert member.governorate is None

    for item in ("sessions", "surveys", "report", "my_reports"):
        salma.press(menu, text=label("ar", f"onboarding.menu.{item}"))
        answer = (await salma.reply()).content
        if deep_links.has_menu_action(item):  # a feature plugged in: it answers, in Arabic
            assert answer != text("ar", "errors.generic")
            assert detect_text_language(answer) == "ar"
            await bot.idle()
            salma.api.reset_cursor(salma.chat_id, to_end=True)
        else:
            assert answer == text("ar", "onboarding.not_available")
    salma.press(menu, data="menu:forged")
    assert (await salma.reply()).content == text("ar", "flow.stale_button_no_flow")


async def test_declining_stores_nothing(bot: BotHarness) -> None:
    omar = bot.user(5002, "en")
    omar.command("/start")
    _, notice = await omar.replies(2)
    omar.press(notice, text=label("en", "onboarding.consent.decline_button"))
    assert (await omar.reply()).content == text("en", "onboarding.consent.declined")
    await bot.idle()
    assert await member_row(bot, 5002) is None


async def test_a_first_hello_starts_onboarding_in_the_language_they_write(
    bot: BotHarness,
) -> None:
    """A newcomer who writes "hello" or "مرحبا" instead of /start is greeted and shown the
    privacy notice (not "I did not understand"), in the language of what they wrote."""
    english = bot.user(5003, None)
    english.send("hello")
    greeting, notice = await english.replies(2)
    assert greeting.content == text("en", "onboarding.greeting")
    assert notice.content == text("en", "onboarding.privacy_notice")
    arabic = bot.user(5004, None)
    arabic.send("مرحبا")
    greeting, notice = await arabic.replies(2)
    assert greeting.content == text("ar", "onboarding.greeting")
    assert notice.content == text("ar", "onboarding.privacy_notice")
    arabic.press(notice, text=label("ar", "onboarding.consent.agree_button"))
    await arabic.replies(2)  # thanks, then the profile's first question
    await bot.idle()
    # Once consented, text with nothing in progress gets the hint, not the greeting again.
    english.press(notice_of(english), text=label("en", "onboarding.consent.agree_button"))
    await english.replies(2)
    english.command("/cancel")
    await english.reply()
    english.send("hello again")
    assert (await english.reply()).content == text("en", "flow.no_flow_hint")


def notice_of(user: SimulatedUser) -> SentMessage:
    return next(m for m in reversed(user.messages()) if m.buttons())


async def test_an_update_right_after_a_language_switch_is_answered_in_the_new_language(
    bot: BotHarness,
) -> None:
    """Both updates reach the bot in one batch: the second must not use the language the
    inbox read with the first (handling the first changed it)."""
    salma = bot.user(5020, "ar")
    await join(bot, salma, "ar")
    salma.command("/language")
    choose = await salma.reply()
    await bot.idle()  # the /language update is marked handled, not only answered
    await bot.stop()
    salma.press(choose, text="English")
    salma.command("/privacy")
    await bot.start()
    assert (await salma.reply()).content == text("en", "onboarding.language.changed")
    assert (await salma.reply()).content == text("en", "onboarding.privacy_notice")


async def test_language_switch_sticks_after_a_restart(bot: BotHarness) -> None:
    salma = bot.user(5005, "ar")
    await join(bot, salma, "ar")
    salma.command("/language")
    choose = await salma.reply()
    assert choose.content == text("ar", "onboarding.language.choose")
    salma.press(choose, text="English")
    assert (await salma.reply()).content == text("en", "onboarding.language.changed")
    member = await member_row(bot, 5005)
    assert member is not None and (member.language, member.language_source) == ("en", "chosen")

    await bot.restart()
    salma.command("/privacy")
    notice = await salma.reply()
    assert notice.content == text("en", "onboarding.privacy_notice")


async def test_choosing_a_language_before_consent_shows_the_notice_in_it_and_stores_nothing(
    bot: BotHarness,
) -> None:
    sara = bot.user(5006, "ar")
    sara.command("/language")
    choose = await sara.reply()
    sara.press(choose, text="English")
    notice = await sara.reply()
    assert notice.content == text("en", "onboarding.privacy_notice")
    await bot.idle()
    assert await member_row(bot, 5006) is None
    sara.press(notice, text=label("en", "onboarding.consent.agree_button"))
    assert (await sara.reply()).content == text("en", "onboarding.consent.thanks")
    member = await member_row(bot, 5006)
    assert member is not None and (member.language, member.language_source) == ("en", "chosen")


def assert_routed(answer: str, prefix: str) -> None:
    """The payload reached its feature, or "not available yet" if none has plugged in."""
    if deep_links.has_start_route(prefix):
        assert answer not in (
            text("en", "onboarding.menu.title"),
            text("en", "errors.generic"),
        )
    else:
        assert answer == text("en", "onboarding.not_available")


async def test_deep_links_are_followed_after_consent_and_junk_is_an_ordinary_start(
    bot: BotHarness,
) -> None:
    ali = bot.user(5007, "en")
    ali.command("/start s12")
    _, notice = await ali.replies(2)
    assert notice.content == text("en", "onboarding.privacy_notice")
    ali.press(notice, text=label("en", "onboarding.consent.agree_button"))
    thanks, routed = await ali.replies(2)
    assert thanks.content == text("en", "onboarding.consent.thanks")
    assert_routed(routed.content, "s")

    ali.command("/start v7")
    assert_routed((await ali.reply()).content, "v")
    await bot.idle()
    ali.api.reset_cursor(ali.chat_id, to_end=True)
    for junk in ("s12abc", "x" * 300, "v", "s-1", "s١٢", "hello", "s12 v7"):
        ali.command(f"/start {junk}")
        welcome, menu = await ali.replies(2)
        assert welcome.content == text("en", "onboarding.welcome_back")
        assert menu.content == text("en", "onboarding.menu.title")


async def test_forged_consent_buttons_store_nothing_unexpected(bot: BotHarness) -> None:
    nour = bot.user(5008, "en")
    nour.command("/help")
    help_message = await nour.reply()
    for data in ("consent:", "consent:yes", "consent:maybe:x", "consent:yes:en:a:b:c:d"):
        nour.press(help_message, data=data)
        assert (await nour.reply()).content == text("en", "flow.stale_button_no_flow")
    nour.press(help_message, data="consent:yes:xx:hacker")
    assert (await nour.reply()).content == text("en", "onboarding.consent.thanks")
    await nour.reply()  # menu
    member = await member_row(bot, 5008)
    assert member is not None
    assert (member.language, member.language_source) == ("en", "default")


async def test_privacy_re_shows_the_notice(bot: BotHarness) -> None:
    huda = bot.user(5009, "en")
    await join(bot, huda, "en")
    huda.command("/privacy")
    notice, consented = await huda.replies(2)
    assert notice.content == text("en", "onboarding.privacy_notice")
    assert notice.buttons() == []
    assert consented.content == text("en", "onboarding.privacy_consented")


async def test_help_lists_member_commands(bot: BotHarness) -> None:
    zaid = bot.user(5010, "en")
    zaid.command("/help")
    shown = (await zaid.reply()).content
    assert shown.startswith(text("en", "onboarding.help.member_intro"))
    for command in ("/start", "/profile", "/language", "/privacy", "/deletemydata", "/cancel"):
        assert command in shown
    assert "/grant" not in shown


async def test_member_commands_in_a_group_are_sent_to_a_private_chat(bot: BotHarness) -> None:
    member = bot.user(5011, "en")
    group = SimulatedUser(
        bot.api, member.user, TgChat(id=-100777, type="supergroup", title="Community")
    )
    group.command("/start")
    reply = await group.reply()
    assert reply.content == text("en", "onboarding.group.private_only")
    button = reply.reply_markup["inline_keyboard"][0][0] if reply.reply_markup else {}
    assert button.get("url") == "https://t.me/hiwar_test_bot"
    group.command("/profile@hiwar_test_bot")
    assert (await group.reply()).content == text("en", "onboarding.group.private_only")
    group.command("/profile@another_bot")
    group.send("just chatting")
    await bot.idle()
    await group.assert_no_reply()
    async with bot.db.unit_of_work() as uow:
        assert (await uow.session.scalars(select(Member))).all() == []


async def test_settings_has_a_back_button_to_the_main_menu(bot: BotHarness) -> None:
    member = bot.user(5030, "ar")
    menu = await join(bot, member, "ar")
    member.press(menu, text=label("ar", "onboarding.menu.settings"))
    settings = await member.reply()
    assert settings.content == text("ar", "onboarding.settings.title")
    member.press(settings, text=label("ar", "onboarding.settings.back"))
    again = await member.reply()
    assert again.content == text("ar", "onboarding.menu.title")
    assert label("ar", "onboarding.menu.settings") in [b for b, _ in again.buttons()]
    await bot.idle()
