"""Using the Bot API robustly: the update types we ask for, optional parameters a server
refuses, and what Telegram's error descriptions mean (issue 14, points 5 and 6).

Logs carry the API's error description (Telegram's own words about the request, such as
"Bad Request: message is too long"), never the text of a message.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from typing import Any

import aiohttp
from telegram import Bot
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram._utils.types import JSONDict, ODVInput, TimePeriod
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut
from telegram.ext import ExtBot
from telegram.request import BaseRequest, RequestData
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


async def call_api(
    bot: Bot, method: str, parameters: dict[str, Any], *, read_timeout: float | None = None
) -> Any:
    """One Bot API call with JSON-ready parameters; Telegram's result as JSON.

    python-telegram-bot's methods turn stored dicts into objects and back, and decode every
    answer into objects we only take one number from; on the hot path (every reply, edit and
    getUpdates) that was a large part of the CPU per input (bench/throughput.py). Errors are
    python-telegram-bot's own (BadRequest, Forbidden, RetryAfter, ChatMigrated, NetworkError),
    raised by its request layer; parameters that are None are left out, as it does.
    """
    data = RequestData(
        [
            RequestParameter.from_input(name, value)
            for name, value in parameters.items()
            if value is not None
        ]
    )
    timeout: Any = BaseRequest.DEFAULT_NONE if read_timeout is None else read_timeout
    request = bot._request[0] if method == "getUpdates" else bot.request
    return await request.post(
        url=f"{bot.base_url}/{method}", request_data=data, read_timeout=timeout
    )


def is_too_long(error: TelegramError) -> bool:
    """A 400 for length: our fault, never the member's (not "blocked", not "unreachable")."""
    return isinstance(error, BadRequest) and any(
        phrase in error.message.lower() for phrase in _TOO_LONG
    )


class AiohttpRequest(BaseRequest):
    """python-telegram-bot's HTTP transport on aiohttp (already a dependency: the webhook
    server). The same requests as PTB's httpx transport (form fields, multipart with files),
    with about a third of its CPU per call, measured by bench/throughput.py: every reply, edit
    and button answer goes through here, so it is a large part of a member's input."""

    def __init__(
        self,
        connection_pool_size: int = 1,
        *,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self.connection_pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.connection_pool_size, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self.USER_AGENT},
                skip_auto_headers=("Accept-Encoding",),
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        body: Any = None
        if request_data is not None:
            fields = request_data.json_parameters
            files = request_data.multipart_data if request_data.contains_files else None
            if files:
                form = aiohttp.FormData()
                for name, value in fields.items():
                    form.add_field(name, value)
                for name, (filename, content, mime) in files.items():
                    form.add_field(name, content, filename=filename, content_type=mime)
                body = form
            elif fields:
                body = aiohttp.FormData(fields)
        read = self._read_timeout if _is_default(read_timeout) else read_timeout
        connect = self._connect_timeout if _is_default(connect_timeout) else connect_timeout
        pool = self._pool_timeout if _is_default(pool_timeout) else pool_timeout
        waiting = None if connect is None and pool is None else (connect or 0) + (pool or 0)
        timeout = aiohttp.ClientTimeout(total=None, connect=waiting, sock_read=read)
        try:
            async with self._session.request(method, url, data=body, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error


def _is_default(value: Any) -> bool:
    return isinstance(value, DefaultValue)


class TolerantRequest(AiohttpRequest):
    """The transport, resending a request without an optional parameter the server refuses
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


class HiwarBot(ExtBot[None]):
    """python-telegram-bot's bot, with `answerCallbackQuery` (about every other input of a
    member: each button press) sent as plain JSON by `call_api`, like replies and edits;
    any call with options of python-telegram-bot's own (timeouts, extra API arguments)
    keeps its path."""

    async def answer_callback_query(
        self,
        callback_query_id: str,
        text: str | None = None,
        show_alert: bool | None = None,
        url: str | None = None,
        cache_time: TimePeriod | None = None,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
        api_kwargs: JSONDict | None = None,
        rate_limit_args: None = None,
    ) -> bool:
        own_options = (read_timeout, write_timeout, connect_timeout, pool_timeout)
        if (
            api_kwargs
            or rate_limit_args is not None
            or any(option is not DEFAULT_NONE for option in own_options)
        ):
            return await super().answer_callback_query(
                callback_query_id,
                text,
                show_alert,
                url,
                cache_time,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
                api_kwargs=api_kwargs,
                rate_limit_args=rate_limit_args,
            )
        seconds = cache_time.total_seconds() if isinstance(cache_time, timedelta) else cache_time
        parameters = {
            "callback_query_id": callback_query_id,
            "text": text,
            "show_alert": show_alert,
            "url": url,
            "cache_time": None if seconds is None else int(seconds),
        }
        return bool(await call_api(self, "answerCallbackQuery", parameters))
