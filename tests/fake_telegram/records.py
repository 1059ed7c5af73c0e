"""Records kept by the fake Bot API server for tests to inspect.

:class:`ApiCall` is one HTTP request the bot made; :class:`SentMessage` is one message the bot
sent (and possibly edited or deleted later). Instances handed out to tests are snapshots: the
server never mutates an object a test already holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

UploadedFile = tuple[str, bytes]
"""A multipart file part as ``(filename, content)``."""

MessageKind = Literal["text", "document", "photo"]


@dataclass(frozen=True)
class ApiCall:
    """One request received by the fake server, recorded once its response was decided.

    Attributes:
        method: Canonical Bot API method name (``"sendMessage"``), whatever case was used.
        params: Decoded parameters (JSON-looking values decoded, text values kept as strings).
        files: Uploaded multipart files by part name.
        at: ``time.monotonic()`` when the request arrived.
        status: HTTP status of the response.
        response: The JSON body that was returned.
    """

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    at: float
    status: int
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the call succeeded (HTTP 200)."""
        return self.status == 200


@dataclass(frozen=True)
class SentMessage:
    """A message the bot sent, as currently stored by the fake server.

    ``document_name``/``document_bytes`` hold the uploaded file of document *and* photo
    messages (``None`` when the file was sent by file id or URL). ``edits`` counts successful
    edits. ``request_params`` are the decoded parameters of the original send call.
    """

    chat_id: int
    message_id: int
    kind: MessageKind
    text: str | None
    caption: str | None
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    document_name: str | None
    document_bytes: bytes | None
    edits: int
    date: int
    edit_date: int | None = None
    deleted: bool = False
    request_params: dict[str, Any] = field(default_factory=dict)
    media_group_id: str | None = None  # set on each message of an album (sendMediaGroup)

    @property
    def content(self) -> str:
        """The visible text: ``text`` for text messages, ``caption`` (or ``""``) otherwise."""
        if self.text is not None:
            return self.text
        return self.caption or ""

    def buttons(self) -> list[tuple[str, str]]:
        """Inline keyboard buttons as ``(text, callback_data)``, flattened row by row.

        Buttons without callback data (URL buttons and the like) get ``""`` as data.
        """
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard") or []
        return [
            (str(button.get("text", "")), str(button.get("callback_data", "")))
            for row in rows
            for button in row
        ]

    def button_texts(self) -> list[str]:
        """Visible texts of the inline keyboard buttons, flattened row by row."""
        return [text for text, _ in self.buttons()]
