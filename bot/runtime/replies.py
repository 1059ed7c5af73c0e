"""Rendering catalogue messages and flow prompts as Telegram replies (HTML parse mode).

While the inbox processor handles an update, nothing here calls Telegram: each reply is
planned on the update in hand and sent once the update's transaction has committed
(`bot/runtime/reply_lane.py`). Callers that need the sent message's id pass `on_sent=`.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden

from bot.engines.flows import BACK, DONE, SKIP, Answered, FlowReply, Prompt, Text
from bot.engines.outbox import Button
from bot.engines.share_links import StartLink
from bot.runtime.context import HiwarContext, current_scope
from bot.runtime.long_messages import send_in_pieces
from bot.runtime.reply_lane import OnSent, PlannedReply
from messages import Catalogue
from storage import flows as flow_store
from storage import outbox

logger = logging.getLogger(__name__)

CANCEL = "~cancel"
FLOW_CALLBACK_PREFIX = "f:"


def planned(
    chat_id: int, method: str, payload: dict[str, Any], on_sent: OnSent | None = None
) -> bool:
    """Plan a reply on the update in hand (sent after its commit); False when no update's
    transaction is held (the caller then calls Telegram itself)."""
    scope = current_scope()
    if scope is None or not scope.holds_transaction:
        return False
    scope.replies.append(PlannedReply(chat_id, method, payload, on_sent))
    return True


def render(ctx: HiwarContext, text: Text) -> str:
    """A service's message; a `StartLink` among its variables becomes this bot's address."""
    variables = {
        name: value.url(ctx.bot.username) if isinstance(value, StartLink) else value
        for name, value in text.variables.items()
    }
    return ctx.services.catalogue.render(ctx.language, text.key, **variables)


def choice_label(catalogue: Catalogue, language: str, value: str, prompt: Prompt) -> str:
    for choice in prompt.choices:
        if choice.value == value:
            if choice.labels:
                return choice.labels.get(language) or next(iter(choice.labels.values()))
            if choice.label_key:
                return catalogue.plain(language, choice.label_key)
    return value


def flow_keyboard(
    catalogue: Catalogue, language: str, prompt: Prompt, version: int
) -> InlineKeyboardMarkup:
    def data(value: str) -> str:
        return f"{FLOW_CALLBACK_PREFIX}{version}:{value}"

    rows: list[list[InlineKeyboardButton]] = []
    row: list[InlineKeyboardButton] = []
    for choice in prompt.choices:
        label = choice_label(catalogue, language, choice.value, prompt)
        if prompt.multi and choice.value in prompt.selected:
            label = f"✅ {label}"
        row.append(InlineKeyboardButton(label, callback_data=data(choice.value)))
        if len(row) >= prompt.columns:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    controls: list[InlineKeyboardButton] = []
    if prompt.can_go_back:
        controls.append(
            InlineKeyboardButton(catalogue.plain(language, "flow.back"), callback_data=data(BACK))
        )
    if prompt.can_skip:
        controls.append(
            InlineKeyboardButton(catalogue.plain(language, "flow.skip"), callback_data=data(SKIP))
        )
    if prompt.multi or prompt.can_finish:
        controls.append(
            InlineKeyboardButton(catalogue.plain(language, "flow.done"), callback_data=data(DONE))
        )
    controls.append(
        InlineKeyboardButton(catalogue.plain(language, "flow.cancel"), callback_data=data(CANCEL))
    )
    rows.append(controls)
    return InlineKeyboardMarkup(rows)


async def _offer_location(update: Update, ctx: HiwarContext) -> None:
    """A one-time "send my location" keyboard button (an inline keyboard cannot ask)."""
    chat = update.effective_chat
    scope = current_scope()
    if chat is None or (scope is not None and scope.quiet):
        return
    label = ctx.services.catalogue.plain(ctx.language, "flow.send_location")
    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton(label, request_location=True)]],
        one_time_keyboard=True,
        resize_keyboard=True,
    )
    text = ctx.services.catalogue.render(ctx.language, "flow.location_offer")
    payload = {"text": text, "parse_mode": ParseMode.HTML, "reply_markup": keyboard.to_dict()}
    if planned(chat.id, "sendMessage", payload):
        return
    try:
        await ctx.bot.send_message(chat.id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard)
    except Forbidden:
        return


def markup(rows: list[list[Button]] | None) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(b.text, url=b.url)
                if b.url
                else InlineKeyboardButton(b.text, callback_data=b.callback_data or "noop")
                for b in row
            ]
            for row in rows
        ]
    )


async def send_html(
    update: Update,
    ctx: HiwarContext,
    text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
    *,
    on_sent: OnSent | None = None,
    prompt_of: dict[str, int] | None = None,
) -> None:
    """Reply in the chat of `update`, unless flood control has gone quiet. `on_sent` is
    called with the sent message's id once it is sent; `prompt_of` (member, flow version)
    says the message shows that flow question: its id is noted with its delivery result,
    in the same transaction, even when it is sent after a restart."""
    scope = current_scope()
    chat = update.effective_chat
    if chat is None or (scope is not None and scope.quiet):
        return
    if scope is not None:
        scope.replies_sent += 1
    payload: dict[str, Any] = {"text": text, "parse_mode": ParseMode.HTML}
    if reply_markup is not None:
        payload["reply_markup"] = reply_markup.to_dict()
    if prompt_of is not None:
        payload[outbox.PROMPT_FIELD] = prompt_of
    if planned(chat.id, "sendMessage", payload, on_sent):
        return
    try:
        message = await send_in_pieces(
            ctx.bot,
            chat.id,
            text,
            catalogue=ctx.services.catalogue,
            language=ctx.language,
            reply_markup=reply_markup,
            disable_web_page_preview=True,
        )
    except Forbidden:
        logger.info("reply not delivered: the member has blocked the bot")
        return
    if on_sent is not None:
        await on_sent(message.message_id)
    if prompt_of is not None:
        shown = flow_store.PromptShown(prompt_of["user"], prompt_of["version"], message.message_id)
        async with ctx.services.database.unit_of_work() as uow:
            await flow_store.note_prompts_shown(uow.session, [shown])
            await uow.commit()


async def say(
    update: Update,
    ctx: HiwarContext,
    key: str,
    /,
    buttons: list[list[Button]] | None = None,
    on_sent: OnSent | None = None,
    **variables: object,
) -> None:
    text = ctx.services.catalogue.render(ctx.language, key, **variables)
    await send_html(update, ctx, text, markup(buttons), on_sent=on_sent)


def answer_label(catalogue: Catalogue, language: str, answered: Answered) -> str | None:
    """What the member chose for the question left behind; None for typed answers."""
    given, prompt = answered.given, answered.prompt
    if given is None or prompt is None:
        return None
    if given.choices is not None:
        if not given.choices:
            return catalogue.plain(language, "flow.skipped")
        labels = (choice_label(catalogue, language, value, prompt) for value in given.choices)
        return catalogue.list_separator(language).join(labels)
    if given.choice == SKIP:
        return catalogue.plain(language, "flow.skipped")
    if given.choice is None or len(prompt.choices) == 1:
        return None  # a single button ("Next") is not an answer worth repeating
    return choice_label(catalogue, language, given.choice, prompt)


async def retire_prompt(update: Update, ctx: HiwarContext, answered: Answered) -> None:
    """Take the buttons off the question left behind; show the answer if a button gave it.

    The answer goes on the message pressed (or else the one the engine remembers); without
    an answer, both lose their buttons. A message too old or already changed cannot be
    edited; that is harmless.
    """
    query = update.callback_query
    chat = update.effective_chat
    if chat is None:
        return
    pressed = query.message.message_id if query is not None and query.message else None
    catalogue, language = ctx.services.catalogue, ctx.language
    answer = answer_label(catalogue, language, answered)
    if answer is not None and answered.prompt is not None:
        target = pressed or answered.message_id
        if target is None:
            return
        question = Markup(render(ctx, answered.prompt.text))  # noqa: S704 - autoescaped
        text = catalogue.render(language, "flow.answered", question=question, answer=answer)
        edit = {"text": text, "parse_mode": ParseMode.HTML, "message_id": target}
        if planned(chat.id, "editMessageText", edit):
            return
        try:
            await ctx.bot.edit_message_text(
                text, chat_id=chat.id, message_id=target, parse_mode=ParseMode.HTML
            )
        except BadRequest as error:
            logger.debug("question %s kept its buttons: %s", target, error)
        return
    for target in dict.fromkeys(m for m in (pressed, answered.message_id) if m is not None):
        await remove_buttons(ctx, chat.id, target)


async def remove_buttons(ctx: HiwarContext, chat_id: int, message_id: int) -> None:
    """Take the inline keyboard off one message (if it can still be edited)."""
    if planned(chat_id, "editMessageReplyMarkup", {"message_id": message_id}):
        return
    try:
        await ctx.bot.edit_message_reply_markup(
            chat_id=chat_id, message_id=message_id, reply_markup=None
        )
    except BadRequest as error:
        logger.debug("message %s kept its buttons: %s", message_id, error)


async def send_file(
    ctx: HiwarContext,
    chat_id: int,
    kind: str,
    name: str,
    data: bytes,
    caption: str | None = None,
) -> None:
    """A document or photo (`kind`) as a reply: planned like every reply, so it arrives in
    order with the messages around it and is not lost after the commit."""
    method = "sendDocument" if kind == "document" else "sendPhoto"
    spec = {"base64": base64.b64encode(data).decode("ascii"), "filename": name}
    payload: dict[str, Any] = {kind: spec, "parse_mode": ParseMode.HTML}
    if caption is not None:
        payload["caption"] = caption
    if planned(chat_id, method, payload):
        return
    if kind == "document":
        await ctx.bot.send_document(chat_id, data, filename=name, caption=caption)
    else:
        await ctx.bot.send_photo(chat_id, data, caption=caption, filename=name)


async def send_file_reply(
    update: Update,
    ctx: HiwarContext,
    kind: str,
    name: str,
    data: bytes,
    *,
    caption: str | None = None,
) -> None:
    """A document or photo (`kind`) in reply, after the update's commit and in order with
    the other replies; `caption` is HTML."""
    chat = update.effective_chat
    scope = current_scope()
    if chat is None or (scope is not None and scope.quiet):
        return
    method = "sendDocument" if kind == "document" else "sendPhoto"
    payload: dict[str, Any] = {kind: {"base64": base64.b64encode(data).decode("ascii")}}
    payload[kind]["filename"] = name
    if caption is not None:
        payload |= {"caption": caption, "parse_mode": ParseMode.HTML}
    if planned(chat.id, method, payload):
        return
    send = ctx.bot.send_document if kind == "document" else ctx.bot.send_photo
    try:
        await send(chat.id, data, filename=name, caption=caption, parse_mode=ParseMode.HTML)
    except Forbidden:
        logger.info("reply not delivered: the member has blocked the bot")


async def send_album(
    update: Update, ctx: HiwarContext, photos: Sequence[tuple[str, bytes, str]]
) -> None:
    """Photos (file name, PNG, HTML caption) as one album, 2 to 10 of them, in reply: shown
    in the chat, opened full size with a tap."""
    chat = update.effective_chat
    scope = current_scope()
    if chat is None or (scope is not None and scope.quiet):
        return
    items = [
        {
            "base64": base64.b64encode(png).decode("ascii"),
            "filename": name,
            "caption": caption,
            "parse_mode": ParseMode.HTML,
        }
        for name, png, caption in photos
    ]
    if planned(chat.id, "sendMediaGroup", {"media": items}):
        return
    media = [
        InputMediaPhoto(png, caption=caption, parse_mode=ParseMode.HTML, filename=name)
        for name, png, caption in photos
    ]
    try:
        await ctx.bot.send_media_group(chat.id, media)
    except Forbidden:
        logger.info("reply not delivered: the member has blocked the bot")


async def show_flow_reply(update: Update, ctx: HiwarContext, reply: FlowReply) -> None:
    """Retire the question left behind, show a notice (if any), then the current question
    or the flow's ending."""
    catalogue, language = ctx.services.catalogue, ctx.language
    if reply.previous is not None:
        await retire_prompt(update, ctx, reply.previous)
    if reply.notice is not None:
        await send_html(update, ctx, render(ctx, reply.notice))
    if reply.completion is not None:
        completion = reply.completion
        buttons = [[Button(label, data)] for label, data in completion.buttons]
        await send_html(update, ctx, render(ctx, completion.text), markup(buttons))
        chat = update.effective_chat
        if chat is not None:
            for filename, content in completion.documents:
                await send_file(ctx, chat.id, "document", filename, content)
            if completion.photo is not None:
                await send_file(ctx, chat.id, "photo", "photo.png", completion.photo)
        if completion.follow_up is not None:
            await send_html(update, ctx, render(ctx, completion.follow_up))
        return
    if reply.prompt is None:
        return
    keyboard = flow_keyboard(catalogue, language, reply.prompt, reply.version)
    text = render(ctx, reply.prompt.text)
    if reply.prompt.request_location:
        await _offer_location(update, ctx)
    query = update.callback_query
    if reply.refresh_in_place and query is not None and query.message is not None:
        try:
            await ctx.bot.edit_message_text(
                text,
                chat_id=query.message.chat.id,
                message_id=query.message.message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard,
            )
            return
        except BadRequest:
            pass  # too old to edit: send it afresh
    user = update.effective_user
    shown = None if user is None else {"user": user.id, "version": reply.version}
    await send_html(update, ctx, text, keyboard, prompt_of=shown)
