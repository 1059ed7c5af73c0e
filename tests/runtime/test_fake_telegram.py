"""Tests of the fake Telegram Bot API, driven by the real python-telegram-bot ``Bot``."""

from __future__ import annotations

import asyncio
import datetime as dtm
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import pytest
import telegram
from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.fake_telegram import (
    FakeBotApi,
    SimulatedUser,
    TgChat,
    TgUser,
    factories,
    post_update,
)

USER = TgUser(id=424242, first_name="Salma", language_code="ar")
GROUP = TgChat(id=-1001234567890, type="supergroup", title="Hiwar pilot")


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as fake:
        yield fake


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(api.token, base_url=api.base_url) as real_bot:
        yield real_bot


def keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("نعم Yes", callback_data="answer:yes")],
            [
                InlineKeyboardButton("No", callback_data="answer:no"),
                InlineKeyboardButton("Docs", url="https://example.org"),
            ],
        ]
    )


# PTB 22 warns that RetryAfter.retry_after will become a timedelta (even inside __init__).
ignore_retry_after_deprecation = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)


async def ignore_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Handler callback for tests that only check which updates a handler accepts."""


def retry_seconds(error: RetryAfter) -> float:
    value: int | dtm.timedelta = error.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


# ---------------------------------------------------------------------- basics


async def test_get_me_returns_the_bot_user(api: FakeBotApi, bot: telegram.Bot) -> None:
    me = await bot.get_me()

    assert me.id == 999000
    assert me.username == "hiwar_test_bot"
    assert me.can_join_groups is True
    assert api.calls_to("getMe")[-1].status == 200


async def test_method_names_are_case_insensitive_and_json_bodies_work(api: FakeBotApi) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{api.base_url}{api.token}/GETME") as response:
            assert response.status == 200
            assert (await response.json())["result"]["username"] == "hiwar_test_bot"
        url = f"{api.base_url}{api.token}/sendmessage"
        async with session.post(url, json={"chat_id": 5, "text": "hi"}) as response:
            assert response.status == 200

    assert [call.method for call in api.calls] == ["getMe", "sendMessage"]
    assert api.messages_to(5)[0].text == "hi"


async def test_unknown_method_and_wrong_token(api: FakeBotApi, bot: telegram.Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("definitelyNotAMethod")
    assert api.calls[-1].response == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found: method not found",
    }

    with pytest.raises(InvalidToken):
        async with telegram.Bot("1:wrong", base_url=api.base_url):
            pass
    assert api.calls[-1].status == 401


# ---------------------------------------------------------------------- sending and editing


async def test_send_message_round_trips_markup_and_is_recorded(
    api: FakeBotApi, bot: telegram.Bot
) -> None:
    message = await bot.send_message(
        USER.id, "<b>مرحبا</b> Salma", parse_mode=ParseMode.HTML, reply_markup=keyboard()
    )

    assert message.message_id == 1
    assert message.chat.type == "private"
    assert message.from_user is not None and message.from_user.id == 999000
    assert message.text == "<b>مرحبا</b> Salma"
    assert message.reply_markup == keyboard()
    [sent] = api.messages_to(USER.id)
    assert sent.kind == "text"
    assert sent.parse_mode == "HTML"
    assert sent.buttons() == [
        ("نعم Yes", "answer:yes"),
        ("No", "answer:no"),
        ("Docs", ""),
    ]
    call = api.calls_to("sendMessage")[-1]
    assert call.params["chat_id"] == USER.id
    assert call.params["reply_markup"] == keyboard().to_dict()


async def test_text_that_looks_like_json_stays_a_string(
    api: FakeBotApi, bot: telegram.Bot
) -> None:
    # PTB sends str values verbatim, so "123" is indistinguishable from the number 123.
    await bot.send_message(USER.id, "123")
    await bot.send_document(USER.id, b"x", filename="a.txt", caption="true")

    first, second = api.messages_to(USER.id)
    assert first.text == "123"
    assert second.caption == "true"


async def test_message_ids_increment_per_chat(api: FakeBotApi, bot: telegram.Bot) -> None:
    ids = [(await bot.send_message(chat, "x")).message_id for chat in (1, 1, 2, GROUP.id)]

    assert ids == [1, 2, 1, 1]
    group_message = api.message_dict(api.messages_to(GROUP.id)[0])
    assert group_message["chat"]["type"] == "supergroup"


async def test_invalid_html_is_refused_like_telegram(api: FakeBotApi, bot: telegram.Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER.id, "<div>x</div>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER.id, "<b>unclosed", parse_mode=ParseMode.HTML)

    assert api.messages_to(USER.id) == []


async def test_edit_message_text(api: FakeBotApi, bot: telegram.Bot) -> None:
    sent = await bot.send_message(USER.id, "question", reply_markup=keyboard())

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "question", chat_id=USER.id, message_id=sent.message_id, reply_markup=keyboard()
        )
    edited = await bot.edit_message_text("answered", chat_id=USER.id, message_id=sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER.id, message_id=99)

    assert isinstance(edited, telegram.Message)
    assert edited.text == "answered"
    assert edited.edit_date is not None
    assert edited.reply_markup is None  # omitting reply_markup removes the keyboard
    [stored] = api.messages_to(USER.id)
    assert (stored.text, stored.edits, stored.reply_markup) == ("answered", 1, None)


async def test_edit_reply_markup_and_caption(api: FakeBotApi, bot: telegram.Bot) -> None:
    photo = await bot.send_photo(USER.id, b"\x89PNG", caption="before", reply_markup=keyboard())

    await bot.edit_message_reply_markup(USER.id, photo.message_id, reply_markup=None)
    await bot.edit_message_caption(USER.id, photo.message_id, caption="after")
    with pytest.raises(BadRequest, match=r"(?i)no text in the message"):
        await bot.edit_message_text("x", chat_id=USER.id, message_id=photo.message_id)

    [stored] = api.messages_to(USER.id)
    assert (stored.caption, stored.reply_markup, stored.edits) == ("after", None, 2)


async def test_send_document_keeps_file_name_and_bytes(api: FakeBotApi, bot: telegram.Bot) -> None:
    content = "id,answer\n1,نعم\n".encode()

    message = await bot.send_document(
        GROUP.id, content, filename="export.csv", caption="Weekly export"
    )
    resent = await bot.send_document(GROUP.id, message.document.file_id)  # type: ignore[union-attr]

    assert message.document is not None
    assert message.document.file_name == "export.csv"
    assert message.document.mime_type == "text/csv"
    assert message.document.file_size == len(content)
    assert resent.document == message.document
    first = api.messages_to(GROUP.id)[0]
    assert (first.kind, first.document_name, first.document_bytes) == (
        "document",
        "export.csv",
        content,
    )
    assert api.calls_to("sendDocument")[0].files["document"] == ("export.csv", content)


async def test_send_photo_returns_photo_sizes(api: FakeBotApi, bot: telegram.Bot) -> None:
    message = await bot.send_photo(USER.id, b"\xff\xd8jpeg", caption="chart")

    assert [size.width for size in message.photo] == [90, 320, 800]
    assert message.caption == "chart"
    assert api.messages_to(USER.id)[0].document_bytes == b"\xff\xd8jpeg"


async def test_send_media_group_stores_an_album_of_photos(
    api: FakeBotApi, bot: telegram.Bot
) -> None:
    media = [
        telegram.InputMediaPhoto(
            b"\x89PNG-one", caption="<b>first</b>", parse_mode=ParseMode.HTML
        ),
        telegram.InputMediaPhoto(b"\x89PNG-two", caption="second"),
    ]
    messages = await bot.send_media_group(USER.id, media)
    assert [m.caption for m in messages] == ["<b>first</b>", "second"]
    assert all(m.photo for m in messages)
    assert len({m.media_group_id for m in messages}) == 1 and messages[0].media_group_id
    stored = api.messages_to(USER.id)
    assert [m.kind for m in stored] == ["photo", "photo"]
    assert [m.document_bytes for m in stored] == [b"\x89PNG-one", b"\x89PNG-two"]
    assert stored[0].media_group_id == messages[0].media_group_id
    assert stored[0].request_params["parse_mode"] == "HTML"
    with pytest.raises(BadRequest, match=r"(?i)wrong number of media"):
        await bot.send_media_group(USER.id, [telegram.InputMediaPhoto(b"\x89PNG")] * 11)
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_media_group(
            USER.id,
            [telegram.InputMediaPhoto(b"\x89PNG", caption="x" * 1025)] * 2,
        )
    with pytest.raises(BadRequest, match=r"(?i)mixed"):
        await bot.send_media_group(
            USER.id,
            [
                telegram.InputMediaPhoto(b"\x89PNG"),
                telegram.InputMediaDocument(b"data", filename="a.csv"),
            ],
        )
    assert len(api.messages_to(USER.id)) == 2


async def test_chat_action_delete_and_callback_answer(api: FakeBotApi, bot: telegram.Bot) -> None:
    sent = await bot.send_message(USER.id, "temp")

    assert await bot.send_chat_action(USER.id, "typing") is True
    assert await bot.answer_callback_query("123", text="Saved") is True
    assert await bot.delete_message(USER.id, sent.message_id) is True
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(USER.id, sent.message_id)

    assert api.messages_to(USER.id)[0].deleted is True
    assert api.calls_to("answerCallbackQuery")[0].params == {
        "callback_query_id": "123",
        "text": "Saved",
    }


async def test_commands_menu_button_and_webhook(api: FakeBotApi, bot: telegram.Bot) -> None:
    commands = [("start", "Start"), ("status", "Grievance status")]
    await bot.set_my_commands(commands, language_code="ar")
    await bot.set_chat_menu_button(menu_button=telegram.MenuButtonCommands())
    await bot.set_webhook("https://hiwar.example/tg", secret_token="s3cret")
    api.push_update(factories.text_message(USER, "hi"))

    assert [c.command for c in await bot.get_my_commands(language_code="ar")] == [
        "start",
        "status",
    ]
    assert await bot.get_my_commands() == ()
    assert api.menu_button() == {"type": "commands"}
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == ("https://hiwar.example/tg", 1)
    assert api.webhook_secret == "s3cret"
    with pytest.raises(Conflict):
        await bot.get_updates()

    await bot.delete_webhook(drop_pending_updates=True)
    await bot.delete_my_commands(language_code="ar")
    assert (await bot.get_webhook_info()).url == ""
    assert api.pending_update_count() == 0
    assert api.commands(language_code="ar") == []


# ---------------------------------------------------------------------- getUpdates


async def test_get_updates_offset_confirms_earlier_updates(
    api: FakeBotApi, bot: telegram.Bot
) -> None:
    ids = [api.push_update(factories.text_message(USER, f"m{i}")) for i in range(3)]

    first = await bot.get_updates()
    second = await bot.get_updates(offset=ids[2])
    third = await bot.get_updates()

    assert ids == [1000, 1001, 1002]
    assert [u.update_id for u in first] == ids
    assert [u.update_id for u in second] == [ids[2]]
    assert [u.update_id for u in third] == [ids[2]]
    assert api.confirmed_offset == ids[2]
    assert api.pending_update_count() == 1
    assert first[0].message is not None and first[0].message.text == "m0"


async def test_get_updates_limit_and_negative_offset(api: FakeBotApi, bot: telegram.Bot) -> None:
    ids = [api.push_update(factories.text_message(USER, str(i))) for i in range(5)]

    limited = await bot.get_updates(limit=2)
    newest = await bot.get_updates(offset=-1)

    assert [u.update_id for u in limited] == ids[:2]
    assert [u.update_id for u in newest] == ids[-1:]
    assert api.pending_update_count() == 1


async def test_long_poll_wakes_up_when_an_update_arrives(
    api: FakeBotApi, bot: telegram.Bot
) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    update_id = api.push_update(factories.text_message(USER, "wake up"))

    updates = await asyncio.wait_for(poll, timeout=2)

    assert [u.update_id for u in updates] == [update_id]
    assert time.monotonic() - started < 1.5


async def test_long_poll_times_out_empty(bot: telegram.Bot) -> None:
    started = time.monotonic()

    assert await bot.get_updates(timeout=dtm.timedelta(seconds=0.3)) == ()
    assert 0.25 < time.monotonic() - started < 1.5


# ---------------------------------------------------------------------- faults


@ignore_retry_after_deprecation
async def test_fail_next_429_raises_retry_after(api: FakeBotApi, bot: telegram.Bot) -> None:
    api.fail_next("sendmessage", status=429, retry_after=7, chat_id=USER.id)

    await bot.send_message(1, "other chat is not affected")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER.id, "flooded")
    await bot.send_message(USER.id, "works again")

    assert retry_seconds(caught.value) == 7
    assert [m.text for m in api.messages_to(USER.id)] == ["works again"]
    assert api.calls_to("sendMessage")[1].response["parameters"] == {"retry_after": 7}
    assert api.pending_faults() == []


async def test_blocked_chat_raises_forbidden(api: FakeBotApi, bot: telegram.Bot) -> None:
    api.block_chat(USER.id)

    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(USER.id, "hello?")
    api.unblock_chat(USER.id)
    await bot.send_message(USER.id, "hello again")

    assert [m.text for m in api.messages_to(USER.id)] == ["hello again"]
    assert [c.status for c in api.calls_to("sendMessage")] == [403, 200]


@pytest.mark.parametrize("status", [500, 502])
async def test_server_errors_raise_network_error(
    api: FakeBotApi, bot: telegram.Bot, status: int
) -> None:
    api.fail_next("sendMessage", status=status, times=2)

    for _ in range(2):
        with pytest.raises(NetworkError) as caught:
            await bot.send_message(USER.id, "x")
        assert type(caught.value) is NetworkError
    await bot.send_message(USER.id, "ok")

    assert len(api.messages_to(USER.id)) == 1


async def test_fail_next_400_with_description(api: FakeBotApi, bot: telegram.Bot) -> None:
    api.fail_next("editMessageText", status=400, description="Bad Request: chat not found")

    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.edit_message_text("x", chat_id=USER.id, message_id=1)


@ignore_retry_after_deprecation
async def test_global_rate_limit_produces_429s(api: FakeBotApi, bot: telegram.Bot) -> None:
    api.set_rate_limit(3)

    outcomes = []
    for i in range(5):
        try:
            await bot.send_message(100 + i, "burst")
            outcomes.append("ok")
        except RetryAfter as error:
            outcomes.append(f"429/{retry_seconds(error):g}")

    assert outcomes == ["ok", "ok", "ok", "429/1", "429/1"]
    assert api.rate_limited_count == 2
    api.set_rate_limit(None)
    await bot.send_message(1, "no limit")


@ignore_retry_after_deprecation
async def test_per_chat_rate_limit(api: FakeBotApi, bot: telegram.Bot) -> None:
    api.set_per_chat_rate_limit(1)

    await bot.send_message(1, "a")
    await bot.send_message(2, "b")
    with pytest.raises(RetryAfter):
        await bot.send_message(1, "c")

    assert api.rate_limited_count == 1


# ---------------------------------------------------------------------- factories


@pytest.mark.parametrize(
    ("text", "command", "entity_length", "args"),
    [
        ("/start", "start", 6, []),
        ("/start s12", "start", 6, ["s12"]),
        ("/start مرحبا", "start", 6, ["مرحبا"]),
        ("/status@hiwar_test_bot GR-AB12-CD34", "status", 22, ["GR-AB12-CD34"]),
    ],
)
async def test_command_entities_parse_with_ptb(
    bot: telegram.Bot, text: str, command: str, entity_length: int, args: list[str]
) -> None:
    raw = factories.text_message(USER, text, update_id=1)
    update = Update.de_json(raw, bot)

    assert update.message is not None
    [entity] = update.message.entities
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, entity_length)
    match = CommandHandler(command, ignore_update).check_update(update)
    assert isinstance(match, tuple) and match[0] == args
    assert CommandHandler("other", ignore_update).check_update(update) is None


def test_command_entity_length_is_utf16() -> None:
    assert factories.command_entities("plain text") == []
    assert factories.command_entities("/help 🎉") == [
        {"type": "bot_command", "offset": 0, "length": 5}
    ]


@pytest.mark.parametrize(
    ("build", "attribute"),
    [
        (lambda: factories.voice_message(USER), "voice"),
        (lambda: factories.photo_message(USER, caption="c"), "photo"),
        (lambda: factories.sticker_message(USER), "sticker"),
        (lambda: factories.location_message(USER), "location"),
        (lambda: factories.contact_message(USER), "contact"),
        (lambda: factories.document_message(USER), "document"),
        (lambda: factories.video_message(USER), "video"),
        (lambda: factories.forwarded_text_message(USER, "fwd"), "forward_origin"),
        (lambda: factories.text_message(USER, "in group", chat=GROUP), "text"),
    ],
)
async def test_message_factories_parse_with_ptb(
    bot: telegram.Bot, build: Callable[[], dict[str, Any]], attribute: str
) -> None:
    update = Update.de_json({**build(), "update_id": 1}, bot)

    assert update.message is not None
    assert getattr(update.message, attribute)
    assert update.effective_user is not None and update.effective_user.id == USER.id


async def test_other_update_factories_parse_with_ptb(bot: telegram.Bot) -> None:
    edited = Update.de_json(
        {**factories.edited_text_message(USER, 7, "fixed"), "update_id": 1}, bot
    )
    post = Update.de_json({**factories.channel_post(TgChat(-100777), "news"), "update_id": 2}, bot)
    member = Update.de_json({**factories.my_chat_member(USER), "update_id": 3}, bot)

    assert edited.edited_message is not None and edited.edited_message.message_id == 7
    assert edited.edited_message.edit_date is not None
    assert post.channel_post is not None and post.channel_post.chat.type == "channel"
    assert member.my_chat_member is not None
    assert member.my_chat_member.new_chat_member.status == "kicked"
    assert member.my_chat_member.old_chat_member.status == "member"


# ---------------------------------------------------------------------- simulated user


async def test_simulated_user_conversation(api: FakeBotApi, bot: telegram.Bot) -> None:
    salma = SimulatedUser(api, USER)
    salma.command("start")
    [incoming] = await bot.get_updates()
    assert incoming.message is not None and incoming.message.text == "/start"

    await bot.send_message(USER.id, "Welcome", reply_markup=keyboard())
    welcome = await salma.reply(timeout=2)
    salma.press(welcome, text="Yes")
    [press] = await bot.get_updates(offset=incoming.update_id + 1)

    assert welcome.button_texts() == ["نعم Yes", "No", "Docs"]
    assert press.callback_query is not None
    assert press.callback_query.data == "answer:yes"
    assert press.callback_query.message is not None
    assert press.callback_query.message.message_id == welcome.message_id
    # The user's /start took message id 1 of the chat, so the bot's reply got id 2.
    assert (incoming.message.message_id, welcome.message_id) == (1, 2)
    with pytest.raises(AssertionError, match=r"(?i)available buttons"):
        salma.press(welcome, text="Maybe")
    await salma.assert_no_reply(wait=0.05)
    assert salma.last_message() == welcome


async def test_reply_times_out_with_helpful_message(api: FakeBotApi, bot: telegram.Bot) -> None:
    await bot.send_message(USER.id, "only one")
    salma = SimulatedUser(api, USER)
    await salma.reply(timeout=1)

    with pytest.raises(AssertionError, match=r"no new message to chat 424242[\s\S]*only one"):
        await salma.reply(timeout=0.05)
    api.reset_cursor(USER.id)
    assert [m.text for m in await salma.replies(1, timeout=1)] == ["only one"]


async def test_wait_for_reports_recent_calls(api: FakeBotApi, bot: telegram.Bot) -> None:
    await bot.send_message(USER.id, "hello")

    await api.wait_for(lambda: len(api.calls_to("sendMessage")) == 1, timeout=1)
    with pytest.raises(AssertionError, match=r"two messages[\s\S]*sendMessage -> 200"):
        await api.wait_for(lambda: False, timeout=0.05, what="two messages")


# ---------------------------------------------------------------------- webhook client


async def test_post_update_sends_secret_header() -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def endpoint(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", endpoint)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        update = {**factories.text_message(USER, "hi"), "update_id": 5}
        assert await post_update(f"http://127.0.0.1:{port}/hook", update, "s3cret") == 200
        assert await post_update(f"http://127.0.0.1:{port}/hook", update, None) == 200
        assert await post_update(f"http://127.0.0.1:{port}/missing", update, None) == 404
    finally:
        await runner.cleanup()

    assert [secret for secret, _ in received] == ["s3cret", None]
    assert received[0][1]["message"]["text"] == "hi"


# ---------------------------------------------------------------------- full application


async def test_real_application_polls_and_replies(api: FakeBotApi) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"أهلاً {' '.join(context.args or [])}")

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer()
        await update.callback_query.edit_message_text(f"chose {update.callback_query.data}")

    async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("Pick", reply_markup=keyboard())

    application = Application.builder().token(api.token).base_url(api.base_url).build()
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("menu", menu))
    application.add_handler(CallbackQueryHandler(on_button))
    salma = SimulatedUser(api, USER)
    async with application:
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        await application.start()
        try:
            salma.command("/start مرحبا")
            greeting = await salma.reply(timeout=3)
            salma.command("menu")
            picker = await salma.reply(timeout=3)
            salma.press(picker, text="No")
            await api.wait_for(
                lambda: api.messages_to(USER.id)[-1].edits == 1, timeout=3, what="the edit"
            )
        finally:
            await application.updater.stop()
            await application.stop()

    assert greeting.text == "أهلاً مرحبا"
    assert salma.last_message().text == "chose answer:no"
    assert len(api.calls_to("answerCallbackQuery")) == 1
    assert api.pending_update_count() == 0
