"""Using the Bot API robustly: the update types we ask for, optional parameters a server
refuses, and what Telegram's error descriptions mean (issue 14, points 5 and 6).

Logs carry the API's error description (Telegram's own words about the request, such as
"Bad Request: message is too long"), never the text of a message.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from telegram.error import BadRequest, TelegramError
from telegram.request import HTTPXRequest, RequestData
from telegram.request._requestparameter import RequestParameter

logger = logging.getLogger(__name__)

# Exactly the update kinds a handler of this bot reads (handlers/, admin/): messages (and
# edits, which are answered), button presses. Not `Update.ALL_TYPES`, which grows with every
# python-telegram-bot release and which a server may refuse as a whole (400).
HANDLED_UPDATE_TYPES: tuple[str, ...] = ("message", "edited_message", "callback_query")

# Parameters a send can do without: the message still says the same to the same chat.
OPTIONAL_PARAMETERS = frozenset(
    {
        "link_preview_options",
        "disable_web_page_preview",
        "disable_notification",
        "protect_content",
        "message_effect_id",
        "allow_paid_broadcast",
        "allow_sending_without_reply",
        "show_caption_above_media",
    }
)
# Parameters that mean nothing to a method that sends no text, which python-telegram-bot's
# defaults still add (parse_mode on editMessageReplyMarkup): droppable there only.
MEANINGLESS_FOR = {
    "editMessageReplyMarkup": frozenset({"parse_mode"}),
    "deleteMessage": frozenset({"parse_mode"}),
    "answerCallbackQuery": frozenset({"parse_mode"}),
}
_NOT_SUPPORTED = re.compile(r"\b([a-z_][a-z0-9_]*)(?:\.[a-z0-9_.]+)? is not supported", re.I)
_TOO_LONG = ("message is too long", "caption is too long", "text is too long")


def description_of(error: TelegramError) -> str:
    """Telegram's description of a refusal (short, and never our message text)."""
    return str(error.message)[:200]


def unsupported_parameter(error: TelegramError, method: str = "") -> str | None:
    """The optional parameter a 400 says the server does not support, if that is the cause."""
    if not isinstance(error, BadRequest):
        return None
    match = _NOT_SUPPORTED.search(error.message)
    if match is None:
        return None
    name = match.group(1).lower()
    droppable = OPTIONAL_PARAMETERS | MEANINGLESS_FOR.get(method, frozenset())
    return name if name in droppable else None


def is_too_long(error: TelegramError) -> bool:
    """A 400 for length: our fault, never the member's (not "blocked", not "unreachable")."""
    return isinstance(error, BadRequest) and any(
        phrase in error.message.lower() for phrase in _TOO_LONG
    )


class TolerantRequest(HTTPXRequest):
    """HTTPXRequest that resends a request without an optional parameter the server refuses
    ("Bad Request: link_preview_options is not supported yet"), and leaves that parameter
    out of every later request of this process: one refusal, not one per message."""

    refused: set[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refused = set()  # optional parameters, for every method
        self.refused_for: dict[str, set[str]] = {}  # meaningless ones, per method

    def _dropped(self, method: str) -> set[str]:
        return self.refused | self.refused_for.get(method, set())

    def _without(self, request_data: RequestData | None, method: str) -> RequestData | None:
        dropped = self._dropped(method)
        if request_data is None or not dropped:
            return request_data
        kept: list[RequestParameter] = [
            parameter for parameter in request_data._parameters if parameter.name not in dropped
        ]
        return RequestData(kept)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        for _ in range(len(OPTIONAL_PARAMETERS) + 2):
            code, body = await super().do_request(
                url, method, self._without(request_data, api_method), *args, **kwargs
            )
            if code != 400 or request_data is None:
                return code, body
            try:
                description = str(json.loads(body).get("description", ""))
            except ValueError:
                return code, body
            name = unsupported_parameter(BadRequest(description), api_method)
            dropped = self._dropped(api_method)
            if name is None or name in dropped or name not in request_data.parameters:
                return code, body
            logger.warning(
                "%s refused an optional parameter (%s); resending without it",
                api_method,
                description[:200],
            )
            if name in OPTIONAL_PARAMETERS:
                self.refused.add(name)
            else:
                self.refused_for.setdefault(api_method, set()).add(name)
        return code, body
