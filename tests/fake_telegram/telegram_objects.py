"""Builders for Telegram API objects (JSON dicts) shared by the server and the factories.

Everything here returns plain dicts shaped like the Bot API documents them, so they can be
fed to ``telegram.Update.de_json`` / ``telegram.Message.de_json``.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from .records import SentMessage

DEFAULT_BOT_USER: dict[str, Any] = {
    "id": 999000,
    "is_bot": True,
    "first_name": "Hiwar",
    "username": "hiwar_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

PHOTO_SIDES = (90, 320, 800)
"""Longest side of each ``PhotoSize`` Telegram generates for a photo."""


class FileIds:
    """Thread-safe source of unique, deterministic ``(file_id, file_unique_id)`` pairs."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def next(self, prefix: str) -> tuple[str, str]:
        """A fresh pair; ``prefix`` mimics Telegram's per-type prefixes (``"BQAC"``...)."""
        with self._lock:
            number = next(self._counter)
        return f"{prefix}AAx{number:010d}", f"AgAD{number:06d}"


def utf16_length(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def chat_type_for(chat_id: int) -> str:
    """``"private"`` for user ids (positive), ``"supergroup"`` otherwise."""
    return "private" if chat_id > 0 else "supergroup"


def default_chat(chat_id: int) -> dict[str, Any]:
    """A plausible Chat object for a chat the server knows nothing else about."""
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
    return {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}


def photo_sizes(file_ids: FileIds, *, file_size: int = 0) -> list[dict[str, Any]]:
    """The list of ``PhotoSize`` objects Telegram returns for one photo, smallest first."""
    sizes = []
    for side in PHOTO_SIDES:
        file_id, unique_id = file_ids.next("AgAC")
        sizes.append(
            {
                "file_id": file_id,
                "file_unique_id": unique_id,
                "width": side,
                "height": side * 3 // 4,
                "file_size": file_size * side // PHOTO_SIDES[-1] if file_size else side * 40,
            }
        )
    return sizes


def message_object(
    sent: SentMessage,
    *,
    chat: dict[str, Any],
    bot_user: dict[str, Any],
    media: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The Message object Telegram returns for a message the bot sent.

    ``media`` is the stored ``document`` object or ``photo`` list (keyed by its field name).
    Texts are echoed verbatim: unlike Telegram, no HTML/Markdown is parsed into entities.
    """
    message: dict[str, Any] = {
        "message_id": sent.message_id,
        "from": dict(bot_user),
        "chat": dict(chat),
        "date": sent.date,
    }
    if sent.edit_date is not None:
        message["edit_date"] = sent.edit_date
    if sent.text is not None:
        message["text"] = sent.text
    if sent.caption is not None:
        message["caption"] = sent.caption
    if sent.media_group_id is not None:
        message["media_group_id"] = sent.media_group_id
    if media:
        message.update(media)
    if sent.reply_markup is not None:
        message["reply_markup"] = sent.reply_markup
    return message
