"""Queueing messages that are not direct replies: notifications, reminders, relays (SPEC §2).

Services call these inside their unit of work, so a message is queued if and only if the
change that caused it commits.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from storage import outbox
from storage.database import UnitOfWork

PRIORITY_SERVICE = 10  # replies relayed from staff, status changes, reminders
PRIORITY_STAFF = 20  # alerts to staff about urgent reports
PRIORITY_BROADCAST = 0


@dataclass(frozen=True)
class Button:
    text: str
    callback_data: str | None = None
    url: str | None = None

    def as_dict(self) -> dict[str, str]:
        button = {"text": self.text}
        if self.url is not None:
            button["url"] = self.url
        else:
            button["callback_data"] = self.callback_data or "noop"
        return button


def keyboard(rows: list[list[Button]]) -> dict[str, Any]:
    return {"inline_keyboard": [[button.as_dict() for button in row] for row in rows]}


async def _queue(
    uow: UnitOfWork,
    method: str,
    payload: dict[str, Any],
    *,
    chat_id: int,
    now: datetime,
    priority: int,
    dedupe_key: str | None,
    source: str | None = None,
    not_before: datetime | None = None,
) -> bool:
    """The tail every `queue_*` shares: one outbox row in the caller's unit of work."""
    return await outbox.enqueue(
        uow.session,
        chat_id=chat_id,
        method=method,
        payload=payload,
        now=now,
        priority=priority,
        dedupe_key=dedupe_key,
        source=source,
        not_before=not_before,
    )


async def queue_text(
    uow: UnitOfWork,
    *,
    chat_id: int,
    text: str,
    now: datetime,
    buttons: list[list[Button]] | None = None,
    priority: int = PRIORITY_SERVICE,
    dedupe_key: str | None = None,
    source: str | None = None,
    not_before: datetime | None = None,
) -> bool:
    payload: dict[str, Any] = {"text": text, "parse_mode": "HTML"}
    if buttons:
        payload["reply_markup"] = keyboard(buttons)
    return await _queue(
        uow,
        "sendMessage",
        payload,
        chat_id=chat_id,
        now=now,
        priority=priority,
        dedupe_key=dedupe_key,
        source=source,
        not_before=not_before,
    )


async def _queue_file(
    method: str,
    key: str,
    uow: UnitOfWork,
    *,
    chat_id: int,
    filename: str,
    content: bytes,
    now: datetime,
    caption: str | None = None,
    priority: int = PRIORITY_SERVICE,
    dedupe_key: str | None = None,
    source: str | None = None,
) -> bool:
    """A file sent by `method` with its bytes under payload `key` (the sender uploads it)."""
    payload: dict[str, Any] = {
        key: {"filename": filename, "base64": base64.b64encode(content).decode()},
        "parse_mode": "HTML",
    }
    if caption:
        payload["caption"] = caption
    return await _queue(
        uow,
        method,
        payload,
        chat_id=chat_id,
        now=now,
        priority=priority,
        dedupe_key=dedupe_key,
        source=source,
    )


queue_document = partial(_queue_file, "sendDocument", "document")
# A picture (a QR code, a chart).
queue_photo = partial(_queue_file, "sendPhoto", "photo")


async def queue_edit(
    uow: UnitOfWork,
    *,
    chat_id: int,
    message_id: int,
    text: str,
    now: datetime,
    buttons: list[list[Button]] | None = None,
    priority: int = PRIORITY_STAFF,
    dedupe_key: str | None = None,
) -> bool:
    payload: dict[str, Any] = {"message_id": message_id, "text": text, "parse_mode": "HTML"}
    if buttons is not None:
        payload["reply_markup"] = keyboard(buttons)
    return await _queue(
        uow,
        "editMessageText",
        payload,
        chat_id=chat_id,
        now=now,
        priority=priority,
        dedupe_key=dedupe_key,
    )
