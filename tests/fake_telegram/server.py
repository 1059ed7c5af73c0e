"""A fake Telegram Bot API server for end-to-end tests with the real python-telegram-bot.

:class:`FakeBotApi` runs an aiohttp server on ``127.0.0.1`` in its own thread and event loop,
so a real ``telegram.Bot(token, base_url=api.base_url)`` or ``Application`` can talk to it
over HTTP while the test drives it from another thread/loop. It implements the methods the
Hiwar bot uses with Telegram's semantics and error texts, records every call, stores sent
messages for inspection, and can inject faults, blocked chats and flood control.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import json
import mimetypes
import re
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlparse

from aiohttp import web

from .errors import (
    NOT_MODIFIED,
    BotApiError,
    bad_request,
    blocked_by_user,
    group_upgraded,
    kicked_from_group,
    too_many_requests,
)
from .faults import FaultPlan, FaultRule, SlidingWindowLimiter
from .html_markup import html_error, visible_text
from .params import read_parameters
from .records import ApiCall, MessageKind, SentMessage, UploadedFile
from .telegram_objects import (
    DEFAULT_BOT_USER,
    FileIds,
    default_chat,
    message_object,
    photo_sizes,
    utf16_length,
)

DEFAULT_TOKEN = "123456:TEST-token"
FIRST_UPDATE_ID = 1000
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
ALBUM_SIZES = range(2, 11)  # sendMediaGroup: 2 to 10 items
# Which item types may share an album: photos (and videos) together, documents only with
# documents. The fake stores photos and documents.
_ALBUM_KINDS: dict[str, MessageKind] = {"photo": "photo", "document": "document"}

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_BOT_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_GET_UPDATES_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
_WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)

Params = dict[str, Any]
Files = dict[str, UploadedFile]
_Handler = Callable[[Params, Files], Any]


@dataclasses.dataclass
class _Webhook:
    url: str = ""
    secret_token: str | None = None
    max_connections: int | None = None
    allowed_updates: list[str] | None = None


DROPPED_CONNECTION = 0  # fail_next(status=0): cut the connection instead of answering


def _is_message_send(method: str) -> bool:
    """``send*`` methods that create a message (subject to flood control)."""
    return method.startswith("send") and method != "sendChatAction"


def _is_chat_write(method: str) -> bool:
    """Methods refused with 403 when the user blocked the bot."""
    return method.startswith(("send", "edit"))


def _chat_id_of(params: Params) -> int | None:
    """The ``chat_id`` parameter as int, or ``None`` if absent or a ``@username``."""
    value = params.get("chat_id")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None


def _chats_in_update(update: dict[str, Any]) -> list[dict[str, Any]]:
    """Chat objects mentioned by an incoming update (to make replies look realistic)."""
    chats = []
    for value in update.values():
        if not isinstance(value, dict):
            continue
        for holder in (value, value.get("message")):
            if isinstance(holder, dict) and isinstance(holder.get("chat"), dict):
                chats.append(holder["chat"])
    return chats


class FakeBotApi:
    """In-process fake of ``https://api.telegram.org`` for one bot token.

    Use as ``with FakeBotApi() as api:`` (or ``start()``/``stop()``) and point PTB at
    ``api.base_url``. All state is guarded by one lock, so the inspection methods may be
    called from any thread or event loop.
    """

    def __init__(
        self, token: str = DEFAULT_TOKEN, *, bot_user: dict[str, Any] | None = None
    ) -> None:
        self.token = token
        self.bot_user: dict[str, Any] = dict(bot_user or DEFAULT_BOT_USER)
        self._lock = threading.Lock()
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._updates_event: asyncio.Event | None = None
        self._startup_error: BaseException | None = None
        self._closing = False
        self._file_ids = FileIds()

        self._calls: list[ApiCall] = []
        self._messages: dict[int, dict[int, SentMessage]] = {}
        self._media: dict[tuple[int, int], dict[str, Any]] = {}
        self._known_media: dict[str, dict[str, Any]] = {}
        self._next_message_ids: dict[int, int] = {}
        # Ids of messages users sent (allocated by `allocate_message_id`), and of every
        # message the bot deleted, per chat.
        self._user_message_ids: dict[int, set[int]] = {}
        self._deleted_ids: dict[int, set[int]] = {}
        self._known_chats: dict[int, dict[str, Any]] = {}
        self._cursors: dict[int, int] = {}
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = FIRST_UPDATE_ID
        self._poll_generation = 0
        self._confirmed_offset = 0
        self._webhook = _Webhook()
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._menu_buttons: dict[int | None, dict[str, Any]] = {}
        self._faults = FaultPlan()
        self._blocked_chats: set[int] = set()
        self._migrated_chats: dict[int, int] = {}  # group → the supergroup it became
        self._kicked_from: set[int] = set()
        self._global_limiter: SlidingWindowLimiter | None = None
        self._per_chat_rate: float | None = None
        self._chat_limiters: dict[int, SlidingWindowLimiter] = {}
        self._rate_limited_count = 0
        self._media_groups = 0

        self._handlers: dict[str, _Handler] = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "sendMediaGroup": self._send_media_group,
            "sendChatAction": self._send_chat_action,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "getFile": self._get_file,
        }
        self._uploaded_files: dict[str, tuple[str, bytes]] = {}
        self._canonical_names = {name.lower(): name for name in self._handlers}
        self._canonical_names["getupdates"] = "getUpdates"

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Start serving in a background thread; returns once the port is listening."""
        if self._thread is not None:
            raise RuntimeError("FakeBotApi is already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run_server, args=(sock, ready), name="fake-bot-api", daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout=10):
            raise RuntimeError("fake Bot API server did not start within 10 s")
        if self._startup_error is not None:
            raise RuntimeError("fake Bot API server failed to start") from self._startup_error
        return self

    def stop(self) -> None:
        """Stop the server (ending pending long polls) and join its thread."""
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop already gone
                loop.call_soon_threadsafe(self._begin_shutdown)
        thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """TCP port on 127.0.0.1 (available after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("FakeBotApi is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """Value for PTB's ``base_url``; PTB appends the token and method name."""
        return f"http://127.0.0.1:{self.port}/bot"

    def _run_server(self, sock: socket.socket, ready: threading.Event) -> None:
        try:
            asyncio.run(self._serve(sock, ready))
        except BaseException as error:  # surfaced to start() if startup failed
            self._startup_error = error
            ready.set()

    async def _serve(self, sock: socket.socket, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        self._updates_event = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_request)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download_file)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.SockSite(runner, sock).start()
            ready.set()
            await self._stop_event.wait()
        finally:
            await runner.cleanup()

    def _begin_shutdown(self) -> None:
        self._closing = True
        self._wake_pollers()
        if self._stop_event is not None:
            self._stop_event.set()

    def _wake_pollers(self) -> None:
        """Wake every pending long poll (must run on the server loop)."""
        if self._updates_event is not None:
            self._updates_event.set()
            self._updates_event = asyncio.Event()

    # ------------------------------------------------------------------ HTTP plumbing

    async def _handle_request(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        requested = request.match_info["method"]
        method = self._canonical_names.get(requested.lower(), requested)
        params: Params = {}
        files: Files = {}
        try:
            params, files = await read_parameters(request)
            if request.match_info["token"] != self.token:
                raise BotApiError(401, "Unauthorized")
            if method not in self._canonical_names.values():
                raise BotApiError(404, "Not Found: method not found")
            result = await self._dispatch(method, params, files)
            status, body = 200, {"ok": True, "result": result}
        except BotApiError as error:
            if error.status == DROPPED_CONNECTION:
                # The connection is cut before the call is carried out: nothing was sent.
                with self._lock:
                    self._calls.append(ApiCall(method, params, files, arrived, 0, {}))
                if request.transport is not None:
                    request.transport.abort()
                raise ConnectionResetError("dropped by the fake Bot API") from None
            status, body = error.status, error.body()
        except (ValueError, TypeError) as error:  # malformed body or parameter types
            unparsable = bad_request(f"can't parse request: {error}")
            status, body = unparsable.status, unparsable.body()
        call = ApiCall(method, params, files, arrived, status, body)
        with self._lock:
            self._calls.append(call)
        return web.json_response(body, status=status)

    async def _download_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        with self._lock:
            found = next(
                (content for name, content in self._uploaded_files.values() if name == path),
                None,
            )
        if found is None:
            return web.Response(status=404)
        return web.Response(body=found)

    def _get_file(self, params: Params, files: Files) -> dict[str, Any]:
        file_id = str(params.get("file_id", ""))
        known = self._uploaded_files.get(file_id)
        if known is None:
            raise bad_request("invalid file_id")
        path, content = known
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id[-10:]}",
            "file_size": len(content),
            "file_path": path,
        }

    def add_user_file(
        self, file_id: str, file_name: str, content: bytes, *, folder: str = "documents"
    ) -> None:
        """Make bytes downloadable (getFile + /file/bot…) under a file id a user sent."""
        with self._lock:
            self._uploaded_files[file_id] = (f"{folder}/{file_id}/{file_name}", content)

    async def _dispatch(self, method: str, params: Params, files: Files) -> Any:
        if method == "getUpdates":
            return await self._get_updates(params)
        with self._lock:
            self._apply_faults(method, params)
            return self._handlers[method](params, files)

    def _apply_faults(self, method: str, params: Params) -> None:
        """Raise an injected, blocked-chat or flood-control error for this call, if due."""
        chat_id = _chat_id_of(params)
        injected = self._faults.consume(method, chat_id)
        if injected is not None:
            raise injected
        if chat_id is not None and chat_id in self._blocked_chats and _is_chat_write(method):
            raise blocked_by_user()
        if chat_id is not None and chat_id in self._migrated_chats and _is_chat_write(method):
            raise group_upgraded(self._migrated_chats[chat_id])
        if chat_id is not None and chat_id in self._kicked_from and _is_chat_write(method):
            raise kicked_from_group()
        if not _is_message_send(method):
            return
        now = time.monotonic()
        if self._global_limiter is not None and not self._global_limiter.try_acquire(now):
            self._rate_limited_count += 1
            raise too_many_requests(1)
        if self._per_chat_rate is not None and chat_id is not None:
            limiter = self._chat_limiters.setdefault(
                chat_id, SlidingWindowLimiter(self._per_chat_rate)
            )
            if not limiter.try_acquire(now):
                self._rate_limited_count += 1
                raise too_many_requests(1)

    # ------------------------------------------------------------------ getUpdates

    async def _get_updates(self, params: Params) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        with self._lock:
            self._apply_faults("getUpdates", params)
            if self._webhook.url:
                raise BotApiError(409, _WEBHOOK_CONFLICT)
            self._confirm_updates(offset)
            self._poll_generation += 1
            generation = self._poll_generation
        self._wake_pollers()  # an older poll still waiting ends with 409, as on Telegram
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._updates_event
            with self._lock:
                if generation != self._poll_generation:
                    raise BotApiError(409, _GET_UPDATES_CONFLICT)
                batch = self._updates[:limit]
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._closing or event is None:
                return batch
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def _confirm_updates(self, offset: int) -> None:
        if offset > 0:
            self._confirmed_offset = max(self._confirmed_offset, offset)
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    # ------------------------------------------------------------------ method handlers

    def _get_me(self, params: Params, files: Files) -> dict[str, Any]:
        return dict(self.bot_user)

    def _send_message(self, params: Params, files: Files) -> dict[str, Any]:
        chat_id = self._require_chat_id(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise bad_request("message text is empty")
        self._check_markup_text(text, params.get("parse_mode"), MAX_TEXT_LENGTH)
        reply_markup = self._check_reply_markup(params.get("reply_markup"))
        sent = self._store(chat_id, "text", params, text=text, reply_markup=reply_markup)
        return self._message_object(sent)

    def _send_document(self, params: Params, files: Files) -> dict[str, Any]:
        return self._send_file(params, files, "document")

    def _send_photo(self, params: Params, files: Files) -> dict[str, Any]:
        return self._send_file(params, files, "photo")

    def _send_file(self, params: Params, files: Files, kind: MessageKind) -> dict[str, Any]:
        chat_id = self._require_chat_id(params)
        caption = params.get("caption")
        if caption is not None:
            self._check_markup_text(str(caption), params.get("parse_mode"), MAX_CAPTION_LENGTH)
        reply_markup = self._check_reply_markup(params.get("reply_markup"))
        upload = files.get(kind)
        reference = params.get(kind)
        if isinstance(reference, str) and reference.startswith("attach://"):
            upload = files.get(reference.removeprefix("attach://"))
        if upload is not None:
            media = self._new_media(kind, upload[0], len(upload[1]))
        elif isinstance(reference, str) and reference:
            media = self._media_for_reference(kind, reference)
        else:
            raise bad_request(f"there is no {kind} in the request")
        sent = self._store(
            chat_id,
            kind,
            params,
            caption=None if caption is None else str(caption),
            reply_markup=reply_markup,
            upload=upload,
            media=media,
        )
        return self._message_object(sent)

    def _send_media_group(self, params: Params, files: Files) -> list[dict[str, Any]]:
        """An album: every item becomes a message of its own sharing one media_group_id."""
        chat_id = self._require_chat_id(params)
        items = params.get("media")
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise bad_request("can't parse media JSON object")
        if len(items) not in ALBUM_SIZES:
            raise bad_request("wrong number of media in the album: must be 2-10")
        kinds = {str(item.get("type")) for item in items}
        if not kinds <= set(_ALBUM_KINDS):
            raise bad_request(f"unsupported media type in the album: {sorted(kinds)}")
        if len(kinds) > 1:
            raise bad_request("documents can't be mixed with other media types in the album")
        prepared = []
        for item in items:
            kind = _ALBUM_KINDS[str(item["type"])]
            caption = item.get("caption")
            if caption is not None:
                self._check_markup_text(str(caption), item.get("parse_mode"), MAX_CAPTION_LENGTH)
            reference = item.get("media")
            upload = None
            if isinstance(reference, str) and reference.startswith("attach://"):
                upload = files.get(reference.removeprefix("attach://"))
                if upload is None:
                    raise bad_request("wrong file identifier/HTTP URL specified")
                media = self._new_media(kind, upload[0], len(upload[1]))
            elif isinstance(reference, str) and reference:
                media = self._media_for_reference(kind, reference)
            else:
                raise bad_request(f"there is no {kind} in the request")
            prepared.append((kind, item, caption, upload, media))
        self._media_groups += 1
        group_id = f"{13_000_000_000_000_000 + self._media_groups}"
        sent = [
            self._store(
                chat_id,
                kind,
                {"chat_id": chat_id, **item},
                caption=None if caption is None else str(caption),
                upload=upload,
                media=media,
                media_group_id=group_id,
            )
            for kind, item, caption, upload, media in prepared
        ]
        return [self._message_object(message) for message in sent]

    def _send_chat_action(self, params: Params, files: Files) -> bool:
        self._require_chat_id(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def _edit_message_text(self, params: Params, files: Files) -> dict[str, Any]:
        current = self._message_to_edit(params)
        if current.kind != "text":
            raise bad_request("there is no text in the message to edit")
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise bad_request("message text is empty")
        parse_mode = self._check_markup_text(text, params.get("parse_mode"), MAX_TEXT_LENGTH)
        markup = self._check_reply_markup(params.get("reply_markup"))
        return self._apply_edit(current, text=text, parse_mode=parse_mode, reply_markup=markup)

    def _edit_message_caption(self, params: Params, files: Files) -> dict[str, Any]:
        current = self._message_to_edit(params)
        if current.kind == "text":
            raise bad_request("there is no caption in the message to edit")
        caption = params.get("caption")
        parse_mode = params.get("parse_mode") or None
        if caption is not None:
            caption = str(caption)
            parse_mode = self._check_markup_text(caption, parse_mode, MAX_CAPTION_LENGTH)
        markup = self._check_reply_markup(params.get("reply_markup"))
        return self._apply_edit(
            current, caption=caption, parse_mode=parse_mode, reply_markup=markup
        )

    def _edit_message_reply_markup(self, params: Params, files: Files) -> dict[str, Any]:
        current = self._message_to_edit(params)
        markup = self._check_reply_markup(params.get("reply_markup"))
        return self._apply_edit(current, reply_markup=markup)

    def _delete_one(self, chat_id: int, message_id: int) -> bool:
        """Delete a bot's message, or a user's message (a bot may delete those in a private
        chat); False when there is no such message (or it is gone already)."""
        if message_id in self._deleted_ids.get(chat_id, set()):
            return False
        message = self._messages.get(chat_id, {}).get(message_id)
        if message is not None:
            self._messages[chat_id][message_id] = dataclasses.replace(message, deleted=True)
        elif message_id not in self._user_message_ids.get(chat_id, set()):
            return False
        self._deleted_ids.setdefault(chat_id, set()).add(message_id)
        return True

    def _delete_message(self, params: Params, files: Files) -> bool:
        chat_id = self._require_chat_id(params)
        if not self._delete_one(chat_id, int(params.get("message_id") or 0)):
            raise bad_request("message to delete not found")
        return True

    def _delete_messages(self, params: Params, files: Files) -> bool:
        """Like Telegram: 1-100 ids; ids that cannot be found are skipped silently."""
        chat_id = self._require_chat_id(params)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message identifiers are not specified")
        for message_id in ids:
            self._delete_one(chat_id, int(message_id))
        return True

    def _answer_callback_query(self, params: Params, files: Files) -> bool:
        if not params.get("callback_query_id"):
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(str(params.get("text") or "")) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        return True

    def _set_my_commands(self, params: Params, files: Files) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request('parameter "commands" is required')
        for command in commands:
            if not isinstance(command, dict) or not _BOT_COMMAND.fullmatch(
                str(command.get("command", ""))
            ):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(params)] = copy.deepcopy(commands)
        return True

    def _get_my_commands(self, params: Params, files: Files) -> list[dict[str, Any]]:
        return copy.deepcopy(self._commands.get(self._commands_key(params), []))

    def _delete_my_commands(self, params: Params, files: Files) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    def _set_chat_menu_button(self, params: Params, files: Files) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        self._menu_buttons[_chat_id_of(params)] = copy.deepcopy(button)
        return True

    def _get_chat_menu_button(self, params: Params, files: Files) -> dict[str, Any]:
        chat_id = _chat_id_of(params)
        button = self._menu_buttons.get(chat_id) or self._menu_buttons.get(None)
        return copy.deepcopy(button) if button else {"type": "default"}

    def _set_webhook(self, params: Params, files: Files) -> bool:
        url = str(params.get("url") or "")
        if url and urlparse(url).scheme not in ("http", "https"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        self._webhook = _Webhook(
            url=url,
            secret_token=str(secret) if url and secret else None,
            max_connections=params.get("max_connections"),
            allowed_updates=params.get("allowed_updates"),
        )
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        return True

    def _delete_webhook(self, params: Params, files: Files) -> bool:
        self._webhook = _Webhook()
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        return True

    def _get_webhook_info(self, params: Params, files: Files) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self._webhook.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook.max_connections is not None:
            info["max_connections"] = self._webhook.max_connections
        if self._webhook.allowed_updates is not None:
            info["allowed_updates"] = self._webhook.allowed_updates
        return info

    # ------------------------------------------------------------------ handler helpers

    @staticmethod
    def _require_chat_id(params: Params) -> int:
        if "chat_id" not in params or params["chat_id"] == "":
            raise bad_request("chat_id is empty")
        chat_id = _chat_id_of(params)
        if chat_id is None or chat_id == 0:
            raise bad_request("chat not found")
        return chat_id

    @staticmethod
    def _check_markup_text(text: str, parse_mode: Any, max_length: int) -> str | None:
        """Validate length and HTML markup like Telegram; returns the parse mode."""
        mode = str(parse_mode) if parse_mode else None
        if mode and mode.upper() == "HTML":
            problem = html_error(text)
            if problem is not None:
                raise bad_request(f"can't parse entities: {problem}")
        if utf16_length(visible_text(text, mode)) > max_length:
            kind = (
                "message is too long"
                if max_length == MAX_TEXT_LENGTH
                else ("message caption is too long")
            )
            raise bad_request(kind)
        return mode

    @staticmethod
    def _check_reply_markup(markup: Any) -> dict[str, Any] | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard") or []:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= (
                    MAX_CALLBACK_DATA_BYTES
                ):
                    raise bad_request("BUTTON_DATA_INVALID")
                if not button.get("text"):
                    raise bad_request("text buttons are unallowed in the inline keyboard")
        return copy.deepcopy(markup)

    def _commands_key(self, params: Params) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _allocate_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_ids.get(chat_id, 1)
        self._next_message_ids[chat_id] = message_id + 1
        return message_id

    def _new_media(self, kind: MessageKind, filename: str, size: int) -> dict[str, Any]:
        if kind == "photo":
            media: dict[str, Any] = {"photo": photo_sizes(self._file_ids, file_size=size)}
            for photo_size in media["photo"]:
                self._known_media[photo_size["file_id"]] = media
            return media
        file_id, unique_id = self._file_ids.next("BQAC")
        document = {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "file_name": filename,
            "mime_type": mimetypes.guess_type(filename)[0] or "application/octet-stream",
            "file_size": size,
        }
        media = {"document": document}
        self._known_media[file_id] = media
        return media

    def _media_for_reference(self, kind: MessageKind, reference: str) -> dict[str, Any]:
        """Media for a file id sent earlier by this bot, or for an HTTP URL."""
        known = self._known_media.get(reference)
        if known is not None and kind in known:
            return copy.deepcopy(known)
        if reference.startswith(("http://", "https://")):
            name = urlparse(reference).path.rsplit("/", 1)[-1] or "file"
            return self._new_media(kind, name, 0)
        raise bad_request("wrong file identifier/HTTP URL specified")

    def _store(
        self,
        chat_id: int,
        kind: MessageKind,
        params: Params,
        *,
        text: str | None = None,
        caption: str | None = None,
        reply_markup: dict[str, Any] | None = None,
        upload: UploadedFile | None = None,
        media: dict[str, Any] | None = None,
        media_group_id: str | None = None,
    ) -> SentMessage:
        parse_mode = params.get("parse_mode")
        sent = SentMessage(
            chat_id=chat_id,
            message_id=self._allocate_message_id(chat_id),
            kind=kind,
            text=text,
            caption=caption,
            parse_mode=str(parse_mode) if parse_mode else None,
            reply_markup=reply_markup,
            document_name=upload[0] if upload else None,
            document_bytes=upload[1] if upload else None,
            edits=0,
            date=int(time.time()),
            request_params=copy.deepcopy(params),
            media_group_id=media_group_id,
        )
        self._messages.setdefault(chat_id, {})[sent.message_id] = sent
        if media is not None:
            self._media[(chat_id, sent.message_id)] = media
        return sent

    def _message_to_edit(self, params: Params) -> SentMessage:
        if params.get("inline_message_id"):
            raise bad_request("inline messages are not supported by the fake Bot API")
        chat_id = self._require_chat_id(params)
        message_id = params.get("message_id")
        message = (
            self._messages.get(chat_id, {}).get(message_id)
            if isinstance(message_id, int)
            else None
        )
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        return message

    def _apply_edit(self, current: SentMessage, **changes: Any) -> dict[str, Any]:
        edited = dataclasses.replace(current, **changes)
        same_content = (edited.text, edited.caption, edited.parse_mode) == (
            current.text,
            current.caption,
            current.parse_mode,
        )
        if same_content and edited.reply_markup == current.reply_markup:
            raise BotApiError(400, NOT_MODIFIED)
        edited = dataclasses.replace(edited, edits=current.edits + 1, edit_date=int(time.time()))
        self._messages[current.chat_id][current.message_id] = edited
        return self._message_object(edited)

    def _message_object(self, sent: SentMessage) -> dict[str, Any]:
        chat = self._known_chats.get(sent.chat_id) or default_chat(sent.chat_id)
        shown = sent
        if sent.reply_markup is not None and "inline_keyboard" not in sent.reply_markup:
            shown = dataclasses.replace(sent, reply_markup=None)  # Telegram only echoes these
        return message_object(
            shown,
            chat=chat,
            bot_user=self.bot_user,
            media=copy.deepcopy(self._media.get((sent.chat_id, sent.message_id))),
        )

    # ------------------------------------------------------------------ test-side API

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an incoming update (``update_id`` assigned if absent); returns its id."""
        queued = copy.deepcopy(update)
        with self._lock:
            if "update_id" not in queued:
                queued["update_id"] = self._next_update_id
            self._next_update_id = max(self._next_update_id, int(queued["update_id"]) + 1)
            for chat in _chats_in_update(queued):
                self._known_chats[int(chat["id"])] = copy.deepcopy(chat)
            self._updates.append(queued)
            update_id = int(queued["update_id"])
        loop = self._loop
        if loop is not None and not self._closing:
            with contextlib.suppress(RuntimeError):  # server loop already closed
                loop.call_soon_threadsafe(self._wake_pollers)
        return update_id

    def pending_update_count(self) -> int:
        """Number of queued, unconfirmed updates."""
        with self._lock:
            return len(self._updates)

    @property
    def confirmed_offset(self) -> int:
        """Highest positive ``offset`` any getUpdates call sent (0 if none)."""
        with self._lock:
            return self._confirmed_offset

    def allocate_message_id(self, chat_id: int) -> int:
        """Take the next message id of ``chat_id`` (shared by user and bot messages)."""
        with self._lock:
            message_id = self._allocate_message_id(chat_id)
            self._user_message_ids.setdefault(chat_id, set()).add(message_id)
            return message_id

    def deleted_message_ids(self, chat_id: int) -> set[int]:
        """Ids of the messages (the bot's and the user's) the bot deleted in ``chat_id``."""
        with self._lock:
            return set(self._deleted_ids.get(chat_id, set()))

    @property
    def calls(self) -> list[ApiCall]:
        """Snapshot of every call received so far, in completion order."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[ApiCall]:
        """Recorded calls of ``method`` (any case accepted)."""
        canonical = self._canonical_names.get(method.lower(), method)
        return [call for call in self.calls if call.method == canonical]

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Messages sent to ``chat_id`` in sending order (deleted ones flagged, not removed)."""
        with self._lock:
            return list(self._messages.get(chat_id, {}).values())

    def all_sent_messages(self) -> list[SentMessage]:
        """Messages sent to any chat (grouped by chat, in sending order within a chat)."""
        with self._lock:
            return [m for chat in self._messages.values() for m in chat.values()]

    def get_message(self, chat_id: int, message_id: int) -> SentMessage | None:
        """Current state of one sent message, if it exists."""
        with self._lock:
            return self._messages.get(chat_id, {}).get(message_id)

    def message_dict(self, message: SentMessage) -> dict[str, Any]:
        """The Telegram Message object for ``message`` in its current (edited) state."""
        with self._lock:
            current = self._messages.get(message.chat_id, {}).get(message.message_id, message)
            return self._message_object(current)

    def commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        """Commands set via setMyCommands for ``scope`` (default scope) and language."""
        params: Params = {"scope": scope, "language_code": language_code}
        with self._lock:
            return copy.deepcopy(self._commands.get(self._commands_key(params), []))

    def menu_button(self, chat_id: int | None = None) -> dict[str, Any] | None:
        """Menu button set for ``chat_id`` (``None``: the default for all chats)."""
        with self._lock:
            return copy.deepcopy(self._menu_buttons.get(chat_id))

    @property
    def webhook_url(self) -> str:
        """URL set with setWebhook (``""`` when no webhook is set)."""
        with self._lock:
            return self._webhook.url

    @property
    def webhook_secret(self) -> str | None:
        """``secret_token`` given to setWebhook, if any."""
        with self._lock:
            return self._webhook.secret_token

    async def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 10.0, *, what: str | None = None
    ) -> None:
        """Poll ``predicate`` until true; AssertionError with recent API calls on timeout."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                described = what or getattr(predicate, "__qualname__", repr(predicate))
                raise AssertionError(
                    f"timed out after {timeout:.1f}s waiting for {described}\n"
                    f"{self.describe_recent_calls()}"
                )
            await asyncio.sleep(0.01)

    async def next_message(self, chat_id: int, timeout: float = 10.0) -> SentMessage:
        """The next message to ``chat_id`` not yet returned by this method (per-chat cursor)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                messages = list(self._messages.get(chat_id, {}).values())
                position = self._cursors.get(chat_id, 0)
                if position < len(messages):
                    self._cursors[chat_id] = position + 1
                    return messages[position]
            if time.monotonic() >= deadline:
                seen = "\n".join(f"  #{m.message_id}: {m.content[:80]!r}" for m in messages)
                raise AssertionError(
                    f"no new message to chat {chat_id} within {timeout:.1f}s "
                    f"({position} already consumed)\nmessages so far:\n{seen or '  (none)'}\n"
                    f"{self.describe_recent_calls()}"
                )
            await asyncio.sleep(0.01)

    def reset_cursor(self, chat_id: int, *, to_end: bool = False) -> None:
        """Make :meth:`next_message` restart from the first message (or skip all so far)."""
        with self._lock:
            count = len(self._messages.get(chat_id, {})) if to_end else 0
            self._cursors[chat_id] = count

    def describe_recent_calls(self, limit: int = 10) -> str:
        """Human-readable summary of the last ``limit`` calls, for assertion messages."""
        recent = self.calls[-limit:]
        if not recent:
            return "no Bot API calls were made"
        lines = []
        for call in recent:
            detail = call.params.get("text") or call.params.get("caption") or ""
            description = "" if call.ok else f" {call.response.get('description', '')}"
            lines.append(
                f"  {call.method} -> {call.status}{description} "
                f"chat={call.params.get('chat_id')} {str(detail)[:60]!r}"
            )
        return f"last {len(recent)} Bot API calls:\n" + "\n".join(lines)

    # ------------------------------------------------------------------ fault control

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        chat_id: int | None = None,
        retry_after: int | None = None,
        times: int = 1,
        description: str | None = None,
    ) -> None:
        """Make the next ``times`` matching calls of ``method`` fail with ``status``
        (``DROPPED_CONNECTION``, 0: the connection is cut and nothing is done)."""
        canonical = self._canonical_names.get(method.lower(), method)
        rule = FaultRule(canonical, status, chat_id, retry_after, times, description)
        with self._lock:
            self._faults.add(rule)

    def pending_faults(self) -> list[FaultRule]:
        """Injected faults not used up yet."""
        with self._lock:
            return self._faults.pending()

    def block_chat(self, chat_id: int) -> None:
        """Act as if the user blocked the bot: send*/edit* to ``chat_id`` get 403."""
        with self._lock:
            self._blocked_chats.add(chat_id)

    def upgrade_group(self, chat_id: int, new_chat_id: int) -> None:
        """Act as if the group became a supergroup: writes to ``chat_id`` get 400 with
        ``migrate_to_chat_id``."""
        with self._lock:
            self._migrated_chats[chat_id] = new_chat_id

    def remove_bot_from(self, chat_id: int) -> None:
        """Act as if the bot was removed from the group: writes to ``chat_id`` get 403."""
        with self._lock:
            self._kicked_from.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        """Undo :meth:`block_chat`."""
        with self._lock:
            self._blocked_chats.discard(chat_id)

    def set_rate_limit(self, messages_per_second: float | None) -> None:
        """Global flood control on message sends (``None`` disables it)."""
        with self._lock:
            self._global_limiter = (
                None if messages_per_second is None else SlidingWindowLimiter(messages_per_second)
            )

    def set_per_chat_rate_limit(self, messages_per_second: float | None) -> None:
        """Per-chat flood control on message sends (``None`` disables it)."""
        with self._lock:
            self._per_chat_rate = messages_per_second
            self._chat_limiters.clear()

    @property
    def rate_limited_count(self) -> int:
        """How many sends were refused with 429 by the rate limits."""
        with self._lock:
            return self._rate_limited_count
