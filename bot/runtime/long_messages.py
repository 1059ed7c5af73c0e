"""Sending a composed message that may exceed Telegram's limit (issue 14, point 6): in
pieces that each fit, every piece after the first marked "(continued)" in the reader's
language, the buttons on the last piece."""

from __future__ import annotations

from typing import Any

from telegram import Bot, Message
from telegram.constants import ParseMode

from bot.engines.message_length import CONTINUED_KEY, MESSAGE_LIMIT, fits, split_html
from messages import Catalogue


def pieces_of(
    catalogue: Catalogue, language: str, text: str, limit: int = MESSAGE_LIMIT
) -> list[str]:
    if fits(text, limit):
        return [text]
    return split_html(text, catalogue.render(language, CONTINUED_KEY), limit)


async def send_in_pieces(
    bot: Bot,
    chat_id: int,
    text: str,
    *,
    catalogue: Catalogue,
    language: str,
    reply_markup: Any = None,
    **options: Any,
) -> Message:
    """Send `text` (HTML) to `chat_id`; returns the last piece, which carries the buttons."""
    pieces = pieces_of(catalogue, language, text)
    message: Message | None = None
    for number, piece in enumerate(pieces, start=1):
        message = await bot.send_message(
            chat_id,
            piece,
            parse_mode=ParseMode.HTML,
            reply_markup=reply_markup if number == len(pieces) else None,
            **options,
        )
    assert message is not None
    return message
