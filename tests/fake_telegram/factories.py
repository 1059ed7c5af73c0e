"""Factories for incoming updates, shaped exactly like the ones Telegram sends.

Each function returns an update dict (without ``update_id`` unless one is passed) ready for
``FakeBotApi.push_update`` or ``telegram.Update.de_json``. Message ids come from a
deterministic, thread-safe per-chat counter unless given explicitly; call
:func:`reset_message_ids` for a fresh sequence.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

from .telegram_objects import DEFAULT_BOT_USER, FileIds, photo_sizes, utf16_length

ChatType = Literal["private", "group", "supergroup", "channel"]
Update = dict[str, Any]

_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")


@dataclass(frozen=True)
class TgUser:
    """A Telegram user sending updates."""

    id: int
    first_name: str
    language_code: str | None = "en"
    username: str | None = None
    last_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The Telegram ``User`` object."""
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name is not None:
            user["last_name"] = self.last_name
        if self.username is not None:
            user["username"] = self.username
        if self.language_code is not None:
            user["language_code"] = self.language_code
        return user


@dataclass(frozen=True)
class TgChat:
    """A Telegram chat; use :meth:`private_with` for a user's private chat."""

    id: int
    type: ChatType = "private"
    title: str | None = None

    @classmethod
    def private_with(cls, user: TgUser) -> TgChat:
        """The private chat with ``user`` (its id equals the user id)."""
        return cls(id=user.id, type="private")

    def to_dict(self, user: TgUser | None = None) -> dict[str, Any]:
        """The Telegram ``Chat`` object (private chats take names from ``user``)."""
        chat: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private":
            if user is not None:
                chat.update(
                    (key, value)
                    for key, value in user.to_dict().items()
                    if key in ("first_name", "last_name", "username")
                )
            else:
                chat["first_name"] = f"User {self.id}"
        else:
            chat["title"] = self.title or f"Chat {self.id}"
        return chat


class _MessageIdCounter:
    """Deterministic, thread-safe message ids, counted separately for each chat."""

    def __init__(self) -> None:
        self._next: dict[int, int] = {}
        self._lock = threading.Lock()

    def next(self, chat_id: int) -> int:
        with self._lock:
            message_id = self._next.get(chat_id, 1)
            self._next[chat_id] = message_id + 1
            return message_id

    def reset(self) -> None:
        with self._lock:
            self._next.clear()


class _Sequence:
    """Thread-safe counter for unique callback query ids and the like."""

    def __init__(self, start: int) -> None:
        self._counter = itertools.count(start)
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            return next(self._counter)


_message_ids = _MessageIdCounter()
_callback_ids = _Sequence(4_000_000_000_000_000_001)
_file_ids = FileIds()


def reset_message_ids() -> None:
    """Restart every chat's message id sequence at 1."""
    _message_ids.reset()


def command_entities(text: str) -> list[dict[str, Any]]:
    """The ``bot_command`` entity Telegram attaches to a text starting with a command.

    Length is in UTF-16 code units and covers ``/cmd`` or ``/cmd@botname``, never the
    arguments.
    """
    match = _COMMAND.match(text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_length(match.group())}]


def _base_message(
    user: TgUser | None,
    chat: TgChat | None,
    message_id: int | None,
    date: int | None,
) -> dict[str, Any]:
    if chat is None:
        if user is None:
            raise ValueError("a chat is required when there is no sending user")
        chat = TgChat.private_with(user)
    message: dict[str, Any] = {
        "message_id": message_id if message_id is not None else _message_ids.next(chat.id),
    }
    if user is not None:
        message["from"] = user.to_dict()
    message["chat"] = chat.to_dict(user if chat.type == "private" else None)
    message["date"] = date if date is not None else int(time.time())
    return message


def _update(key: str, payload: dict[str, Any], update_id: int | None) -> Update:
    update: Update = {key: payload}
    if update_id is not None:
        update["update_id"] = update_id
    return update


def _message_update(
    user: TgUser,
    content: dict[str, Any],
    *,
    chat: TgChat | None,
    message_id: int | None,
    date: int | None,
    update_id: int | None,
) -> Update:
    message = _base_message(user, chat, message_id, date)
    message.update(content)
    return _update("message", message, update_id)


def text_message(
    user: TgUser,
    text: str,
    *,
    chat: TgChat | None = None,
    message_id: int | None = None,
    date: int | None = None,
    reply_to: dict[str, Any] | None = None,
    update_id: int | None = None,
) -> Update:
    """A text message; a leading ``/command`` gets its ``bot_command`` entity.

    ``reply_to`` is the Message dict being replied to.
    """
    content: dict[str, Any] = {"text": text}
    entities = command_entities(text)
    if entities:
        content["entities"] = entities
    if reply_to is not None:
        content["reply_to_message"] = reply_to
    return _message_update(
        user, content, chat=chat, message_id=message_id, date=date, update_id=update_id
    )


def callback_query(
    user: TgUser,
    data: str,
    message: dict[str, Any],
    *,
    update_id: int | None = None,
) -> Update:
    """A press on an inline button with ``data`` under the bot's ``message`` dict."""
    chat_id = int(message["chat"]["id"])
    query = {
        "id": str(_callback_ids.next()),
        "from": user.to_dict(),
        "message": message,
        "chat_instance": str(-(6_000_000_000_000_000_000 + abs(chat_id))),
        "data": data,
    }
    return _update("callback_query", query, update_id)


def voice_message(
    user: TgUser,
    *,
    duration: int = 3,
    chat: TgChat | None = None,
    message_id: int | None = None,
    date: int | None = None,
    update_id: int | None = None,
) -> Update:
    """A voice note."""
    file_id, unique_id = _file_ids.next("AwAC")
    voice = {
        "file_id": file_id,
        "file_unique_id": unique_id,
        "duration": duration,
        "mime_type": "audio/ogg",
        "file_size": 4000 * duration,
    }
    return _message_update(
        user, {"voice": voice}, chat=chat, message_id=message_id, date=date, update_id=update_id
    )


def photo_message(
    user: TgUser,
    *,
    caption: str | None = None,
    chat: TgChat | None = None,
    message_id: int | None = None,
    date: int | None = None,
    update_id: int | None = None,
) -> Update:
    """A photo (three ``PhotoSize`` entries, smallest first) with an optional caption."""
    content: dict[str, Any] = {"photo": photo_sizes(_file_ids)}
    if caption is not None:
        content["caption"] = caption
    return _message_update(
        user, content, chat=chat, message_id=message_id, date=date, update_id=update_id
    )


def sticker_message(
    user: TgUser,
    *,
    emoji: str = "👍",
    chat: TgChat | None = None,
    message_id: int | None = None,
    date: int | None = None,
    update_id: int | None = None,
) -> Update:
    """A regular static sticker."""
    file_id, unique_id = _file_ids.next("CAAC")
    sticker = {
        "file_id": file_id,
        "file_unique_id": unique_id,
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": emoji,
        "set_name": "HiwarTestStickers",
        "file_size": 20480,
    }
    return _message_update(
        user,
        {"sticker": sticker},
        chat=chat,
        message_id=message_id,
        date=date,
        update_id=update_id,
    )


def location_message(
    user: TgUser,
    *,
    latitude: float = 33.5138,
    longitude: float = 36.2765,
    chat: TgChat | None = None,
    message_id: int | None = None,
    date: int | None = None,
    update_id: int | None = None,
) -> Update:
    """A shared location (defaults to Damascus)."""
    location = {"latitude": latitude, "longitude": longitude}
    return _message_update(
        user,
        {"location": location},
        chat=chat,
        message_id=message_id,
        date=date,
        update_id=update_id,
    )


def contact_message(
    user: TgUser,
    *,
    phone_number: str = "+963900000000",
    first_name: str | None = None,
    contact_user_id: int | None = None,
    chat: TgChat | None = None,
    message_id: int | None = None,
    date: int | None = None,
    update_id: int | None = None,
) -> Update:
    """A shared contact; by default the user's own (``user_id`` set, as Telegram does)."""
    contact: dict[str, Any] = {
        "phone_number": phone_number,
        "first_name": first_name or user.first_name,
        "user_id": user.id if contact_user_id is None else contact_user_id,
    }
    return _message_update(
        user,
        {"contact": contact},
        chat=chat,
        message_id=message_id,
        date=date,
        update_id=update_id,
    )


def document_message(
    user: TgUser,
    *,
    file_name: str = "report.pdf",
    mime_type: str = "application/pdf",
    file_size: int = 12345,
    caption: str | None = None,
    chat: TgChat | None = None,
    message_id: int | None = None,
    date: int | None = None,
    update_id: int | None = None,
) -> Update:
    """A document (file) message."""
    file_id, unique_id = _file_ids.next("BQAC")
    content: dict[str, Any] = {
        "document": {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": file_size,
        }
    }
    if caption is not None:
        content["caption"] = caption
    return _message_update(
        user, content, chat=chat, message_id=message_id, date=date, update_id=update_id
    )


def video_message(
    user: TgUser,
    *,
    duration: int = 5,
    chat: TgChat | None = None,
    message_id: int | None = None,
    date: int | None = None,
    update_id: int | None = None,
) -> Update:
    """A video message."""
    file_id, unique_id = _file_ids.next("BAAC")
    video = {
        "file_id": file_id,
        "file_unique_id": unique_id,
        "width": 1280,
        "height": 720,
        "duration": duration,
        "mime_type": "video/mp4",
        "file_size": 250_000 * duration,
    }
    return _message_update(
        user, {"video": video}, chat=chat, message_id=message_id, date=date, update_id=update_id
    )


def edited_text_message(
    user: TgUser,
    message_id: int,
    text: str,
    *,
    chat: TgChat | None = None,
    date: int | None = None,
    edit_date: int | None = None,
    update_id: int | None = None,
) -> Update:
    """An ``edited_message`` update: the user edited their message ``message_id``."""
    now = int(time.time())
    message = _base_message(user, chat, message_id, date if date is not None else now - 1)
    message["edit_date"] = edit_date if edit_date is not None else now
    message["text"] = text
    entities = command_entities(text)
    if entities:
        message["entities"] = entities
    return _update("edited_message", message, update_id)


def forwarded_text_message(
    user: TgUser,
    text: str,
    *,
    original_sender: TgUser | None = None,
    original_date: int | None = None,
    chat: TgChat | None = None,
    message_id: int | None = None,
    date: int | None = None,
    update_id: int | None = None,
) -> Update:
    """A text the user forwarded from another user (``forward_origin`` of type ``user``)."""
    sender = original_sender or TgUser(id=555000111, first_name="Someone Else")
    now = int(time.time())
    content = {
        "forward_origin": {
            "type": "user",
            "sender_user": sender.to_dict(),
            "date": original_date if original_date is not None else now - 3600,
        },
        "text": text,
    }
    return _message_update(
        user, content, chat=chat, message_id=message_id, date=date, update_id=update_id
    )


def channel_post(
    chat: TgChat,
    text: str,
    *,
    message_id: int | None = None,
    date: int | None = None,
    update_id: int | None = None,
) -> Update:
    """A post in a channel (no ``from``; ``sender_chat`` is the channel)."""
    channel = TgChat(id=chat.id, type="channel", title=chat.title)
    message = _base_message(None, channel, message_id, date)
    message["sender_chat"] = channel.to_dict()
    message["text"] = text
    return _update("channel_post", message, update_id)


def my_chat_member(
    user: TgUser,
    *,
    old_status: str = "member",
    new_status: str = "kicked",
    chat: TgChat | None = None,
    bot_user: dict[str, Any] | None = None,
    date: int | None = None,
    update_id: int | None = None,
) -> Update:
    """The bot's membership changed; by default the user blocked the bot."""
    bot = dict(bot_user or DEFAULT_BOT_USER)
    target_chat = chat or TgChat.private_with(user)

    def member(status: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"status": status, "user": bot}
        if status == "kicked":
            entry["until_date"] = 0
        return entry

    payload = {
        "chat": target_chat.to_dict(user if target_chat.type == "private" else None),
        "from": user.to_dict(),
        "date": date if date is not None else int(time.time()),
        "old_chat_member": member(old_status),
        "new_chat_member": member(new_status),
    }
    return _update("my_chat_member", payload, update_id)
