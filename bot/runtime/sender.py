"""The one rate-limited sender that drains the outbox (SPEC §2).

Limits: at most `rate` messages a second overall (shared with direct replies through
`SharedRateLimiter`), one a second per private chat, twenty a minute per group. A 429 pauses
all sending for `retry_after`; a 403 marks the member unreachable and is never retried;
network errors and 5xx are retried with exponential backoff.

Pacing (`GlobalPace`) is a sliding window counted on answers, so the server can never see
more than the limit in any second (see its docstring).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    Message,
    ReplyKeyboardMarkup,
)
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter

from bot.clock import Every
from bot.engines.message_length import (
    CAPTION_LIMIT,
    CONTINUED_KEY,
    MESSAGE_LIMIT,
    fits,
    language_of_text,
    split_html,
    visible_text,
)
from bot.runtime.context import Services
from bot.runtime.staff_destinations import (
    after_undelivered,
    final_destination,
    load_chat_moves,
    record_move,
)
from bot.runtime.telegram_api import call_api, description_of, is_too_long
from storage import flows as flow_store
from storage import leases, outbox
from storage.database import UnitOfWork
from storage.errors import is_database_unavailable

logger = logging.getLogger(__name__)

CLAIM_FOR = timedelta(seconds=120)
MAX_ATTEMPTS = 8
GROUP_WINDOW_SECONDS = 60.0
GROUP_MESSAGES_PER_WINDOW = 20
RECORD_BATCH = 200
REPLIES_ACTIVE_SECONDS = 10.0
LEAD_FOR = timedelta(seconds=15)  # an outbox sender that stops renewing is replaced this soon
LEAD_RENEW = timedelta(seconds=5)
STOP_WAIT_SECONDS = 5.0  # a stop waits this long for the sends in hand
RELEASE_CHECK_EVERY = timedelta(seconds=5)  # claims of a dead instance: no need to look each poll


def retry_after_seconds(error: RetryAfter) -> float:
    value = error.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


NO_LINK_PREVIEW = {"is_disabled": True}


def sent_message_id(result: Any) -> int | None:
    """The id in a Bot API answer that is a message (an edit of an inline message is True)."""
    if isinstance(result, dict) and isinstance(result.get("message_id"), int):
        return int(result["message_id"])
    return None


def keyboard_of(markup: Any, bot: Bot) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
    """A stored `reply_markup`: inline buttons, or a reply keyboard (e.g. "send my location")."""
    if not markup:
        return None
    if "keyboard" in markup:
        return ReplyKeyboardMarkup.de_json(markup, bot)
    return InlineKeyboardMarkup.de_json(markup, bot)


class GlobalPace:
    """The overall rate shared by the sender and direct replies, plus a global 429 pause.

    A sliding window counted on completions: a send may start while fewer than `capacity`
    sends are in flight or were answered less than `window` seconds ago. A request reaches
    Telegram after it starts and before its answer comes back, so no second (as the server
    counts it) can ever hold more than `capacity` of our sends, whatever the network delay.
    Time lost to a busy event loop is caught up, at most at twice the rate (`min_gap`), so
    the achieved rate stays close to the limit without bursts.

    Bulk sending (the outbox) queues separately from direct replies and, while members are
    talking to the bot (a reply in the last `REPLIES_ACTIVE_SECONDS`), leaves `reserve` of the
    window to them: a member using the bot during a broadcast is answered at once instead
    of waiting behind it, and a broadcast nobody interrupts uses the whole limit. Within each
    kind, waiters are served in order.
    """

    def __init__(self, rate_per_second: float) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        self.rate = rate_per_second
        self.capacity = max(1, math.floor(rate_per_second))
        self.window = self.capacity / rate_per_second
        self.min_gap = 1.0 / (2.0 * rate_per_second)
        self._answered: deque[float] = deque()
        self._in_flight = 0
        self._last_start = -math.inf
        self._paused_until = 0.0
        self.reserve = max(1, math.ceil(self.capacity * 0.02)) if self.capacity > 1 else 0
        self._turns = {False: asyncio.Lock(), True: asyncio.Lock()}
        self._last_reply = -math.inf
        self._released = asyncio.Event()

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def _occupied(self, now: float) -> int:
        while self._answered and now - self._answered[0] >= self.window:
            self._answered.popleft()
        return self._in_flight + len(self._answered)

    def _wait_needed(self, now: float, limit: int) -> float | None:
        """Seconds to wait before a send may start; None when it must wait for an answer."""
        if (paused := self._paused_until - now) > 0:
            return paused
        if self._occupied(now) >= limit:
            if not self._answered:
                return None
            return self._answered[0] + self.window - now
        return max(0.0, self._last_start + self.min_gap - now)

    async def acquire(self, *, bulk: bool = False) -> None:
        """Wait for room for one send; the caller must `release()` when it is answered."""
        if not bulk:
            self._last_reply = time.monotonic()
        async with self._turns[bulk]:
            while True:
                now = time.monotonic()
                leave_room = bulk and now - self._last_reply < REPLIES_ACTIVE_SECONDS
                wait = self._wait_needed(now, self.capacity - (self.reserve if leave_room else 0))
                if wait == 0.0:
                    self._in_flight += 1
                    self._last_start = time.monotonic()
                    return
                self._released.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._released.wait(), timeout=wait)

    def release(self) -> None:
        self._in_flight -= 1
        self._answered.append(time.monotonic())
        self._released.set()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one send: wait for room, then count the send until `window` after its answer."""
        await self.acquire()
        try:
            yield
        finally:
            self.release()


class SharedRateLimiter(BaseRateLimiter[None]):
    """python-telegram-bot rate limiter for direct replies: takes from the shared pace."""

    def __init__(self, pace: GlobalPace) -> None:
        self.pace = pace

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if not endpoint.startswith(("send", "edit", "copy", "forward")):
            return await callback(*args, **kwargs)
        async with self.pace.slot():
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                self.pace.pause(retry_after_seconds(error))
                raise


@dataclass(frozen=True)
class DeliveryOutcome:
    message: outbox.OutgoingMessage
    status: str
    sent_id: int | None
    error: str | None
    retry_in: float | None
    count_attempt: bool
    moved_to: int | None = None  # the group became this supergroup; sent there
    description: str = ""  # Telegram's words about a refusal (never the message text)


class OutcomeRecorder:
    """Writes delivery results as a group commit: the first result starts a transaction at
    once, and whatever arrives while it commits (or in the `spacing` after it) goes into the
    next one. Results are written within a few dozen milliseconds of their answer (a crash
    can only resend those), and the database sees one short transaction per batch rather
    than one per message, leaving room for the handlers' own writes."""

    def __init__(self, services: Services, owner: str, *, spacing: float = 0.02) -> None:
        self.services = services
        self.owner = owner
        self.spacing = spacing
        self._buffer: list[DeliveryOutcome] = []
        self._arrived = asyncio.Event()

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def add(self, outcome: DeliveryOutcome) -> None:
        self._buffer.append(outcome)
        self._arrived.set()

    def wake(self) -> None:
        """Look again now (at a stop: write what is left and end)."""
        self._arrived.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set() or self._buffer:
            if not self._buffer:
                self._arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), timeout=0.5)
                continue
            started = time.monotonic()
            try:
                await self.flush()
                # Leave the database to handlers for a moment; more results gather meanwhile.
                await asyncio.sleep(max(0.0, started + self.spacing - time.monotonic()))
            except Exception as error:
                if not is_database_unavailable(error):
                    logger.exception("could not record outbox results")
                    self._buffer.clear()
                await asyncio.sleep(0.5)
                if stop.is_set() and is_database_unavailable(error):
                    return

    async def flush(self) -> None:
        batch = self._buffer[:RECORD_BATCH]
        async with self.services.database.unit_of_work() as uow:
            await write_outcomes(uow, self.services, self.owner, batch)
            await uow.commit()
        del self._buffer[: len(batch)]


async def write_outcomes(
    uow: UnitOfWork, services: Services, owner: str, batch: list[DeliveryOutcome]
) -> None:
    """Write delivery results (the outbox sender's and the reply lane's) and what follows
    from them: a moved chat remembered, an unreachable member marked, whoever asked told of
    a failure, a sent message linked to its subject, a flow's question message noted."""
    now = services.clock.now()
    finished: list[outbox.FinishedMessage] = []
    postponed: list[outbox.PostponedMessage] = []
    for item in batch:
        if item.retry_in is not None:
            postponed.append(
                outbox.PostponedMessage(
                    item.message.id,
                    now + timedelta(seconds=item.retry_in),
                    item.error or "retry",
                    item.count_attempt,
                )
            )
        else:
            finished.append(
                outbox.FinishedMessage(item.message.id, item.status, item.sent_id, item.error)
            )
    await outbox.record_outcomes(uow.session, owner, now, finished, postponed)
    prompts: list[flow_store.PromptShown] = []
    for item in batch:
        if item.moved_to is not None:
            await record_move(uow, services, item.message.chat_id, item.moved_to, now)
        if item.retry_in is not None:
            continue
        if item.status == outbox.UNREACHABLE:
            await outbox.mark_member_unreachable(uow.session, item.message.chat_id)
        if item.status in (outbox.UNREACHABLE, outbox.FAILED):
            await queue_failure_notice(uow, item.message, now, item.status)
            await after_undelivered(
                uow, services, item.message, item.status, item.description, now
            )
        if item.status != outbox.SENT or not item.sent_id:
            continue
        payload = item.message.payload
        subject = payload.get(outbox.LINK_FIELD)
        if isinstance(subject, str):
            chat_id = item.moved_to or item.message.chat_id
            await outbox.remember_sent(uow.session, chat_id, item.sent_id, subject, now)
        shown = payload.get(outbox.PROMPT_FIELD)
        if isinstance(shown, dict):
            prompts.append(
                flow_store.PromptShown(int(shown["user"]), int(shown["version"]), item.sent_id)
            )
    await flow_store.note_prompts_shown(uow.session, prompts)
    if postponed:
        uow.after_commit(services.wake_sender)


async def queue_failure_notice(
    uow: Any, message: outbox.OutgoingMessage, now: Any, status: str = outbox.UNREACHABLE
) -> None:
    """Tell whoever asked for it (e.g. a moderator's relayed reply) that it was not delivered:
    "blocked" only when Telegram said so (403), never for a refusal on our side."""
    notice = message.payload.get("on_failure")
    if not isinstance(notice, dict):
        return
    text = notice["text"] if status == outbox.UNREACHABLE else notice.get("text_failed")
    if not text:
        return
    await outbox.enqueue(
        uow.session,
        chat_id=int(notice["chat_id"]),
        method="sendMessage",
        payload={"text": str(text), "parse_mode": "HTML"},
        now=now,
        priority=20,
        dedupe_key=f"failure-notice:{message.id}",
    )


class OutboxSender:
    def __init__(
        self,
        services: Services,
        bot: Bot,
        pace: GlobalPace,
        *,
        per_chat_interval: float = 1.0,
        idle_poll_seconds: float = 1.0,
    ) -> None:
        self.services = services
        self.bot = bot
        self.pace = pace
        self.per_chat_interval = per_chat_interval
        self.idle_poll_seconds = idle_poll_seconds
        self.owner = services.instance_id
        self._release_check = Every(services.clock, RELEASE_CHECK_EVERY)
        self._leading_until: datetime | None = None
        self._wake = asyncio.Event()
        self._queues: dict[int, deque[outbox.OutgoingMessage]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._last_private_send: dict[int, float] = {}
        self._group_sends: dict[int, deque[float]] = {}
        self._in_flight = 0
        self.chat_moves: dict[int, int] = {}  # groups Telegram moved: old id → new id
        self._stopping = False
        # A SQLite commit waits for the disk (~12 ms measured) and blocks every other writer:
        # record less often there. PostgreSQL commits are cheap and concurrent.
        spacing = 0.01 if services.database.is_postgresql else 0.05
        self.recorder = OutcomeRecorder(services, self.owner, spacing=spacing)

    def wake(self) -> None:
        self._wake.set()

    @property
    def backlog(self) -> int:
        queued = sum(len(queue) for queue in self._queues.values())
        return queued + self._in_flight + self.recorder.pending

    async def run(self, stop: asyncio.Event) -> None:
        try:
            self.chat_moves = await load_chat_moves(self.services)
        except Exception as error:  # the database may be down at this moment: no moves known
            logger.warning("could not read chat moves (%s)", type(error).__name__)
        recorder = asyncio.create_task(self.recorder.run(stop), name="outbox-recorder")
        try:
            await self._run(stop)
        finally:
            await recorder
            if self.services.database.is_postgresql:
                with contextlib.suppress(Exception):
                    await self._step_down()

    async def _lead(self) -> bool:
        """On PostgreSQL only one instance sends the outbox, so the overall rate holds with
        several instances; the others stand by and one takes over within `LEAD_FOR` of the
        sender stopping or dying. On SQLite there is one instance: it always sends."""
        if not self.services.database.is_postgresql:
            return True
        now = self.services.clock.now()
        if self._leading_until is not None and now < self._leading_until - LEAD_FOR + LEAD_RENEW:
            return True
        async with self.services.database.unit_of_work() as uow:
            leading = await leases.take_lease(
                uow.session, leases.OUTBOX_SENDER, self.owner, now, LEAD_FOR
            )
            await uow.commit()
        self._leading_until = now + LEAD_FOR if leading else None
        return leading

    async def _step_down(self) -> None:
        async with self.services.database.unit_of_work() as uow:
            await leases.release_leases_of(uow.session, self.owner)
            await uow.commit()

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                claimed = await self._claim() if await self._lead() else 0
            except Exception as error:
                if not is_database_unavailable(error):
                    logger.exception("outbox claim failed")
                claimed = 0
                await asyncio.sleep(1.0)
            if claimed == 0 or self.backlog >= self._target_backlog():
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.idle_poll_seconds)
        # A stop: each chat finishes the send in hand (its result is recorded, so it is not
        # sent again after the restart); what is still queued waits for the restart.
        self._stopping = True
        if self._workers:
            await asyncio.wait(list(self._workers.values()), timeout=STOP_WAIT_SECONDS)
        for task in list(self._workers.values()):
            task.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)

    def _target_backlog(self) -> int:
        # Half a second of sending: enough to keep the pace, little to redo after a crash.
        return max(10, int(self.pace.rate * 0.5))

    async def _claim(self) -> int:
        room = self._target_backlog() - self.backlog
        if room <= 0:
            return 0
        now = self.services.clock.now()
        async with self.services.database.unit_of_work() as uow:
            if self._release_check.due():
                await outbox.release_expired_claims(uow.session, now)
            messages = await outbox.claim_due(uow.session, self.owner, now, room, CLAIM_FOR)
            await uow.commit()
        for message in messages:
            self._queues.setdefault(message.chat_id, deque()).append(message)
            if message.chat_id not in self._workers:
                self._workers[message.chat_id] = asyncio.create_task(
                    self._drain_chat(message.chat_id), name=f"outbox-chat-{message.chat_id}"
                )
        return len(messages)

    async def _wait_for_chat_turn(self, chat_id: int) -> None:
        now = time.monotonic()
        if chat_id > 0:
            last = self._last_private_send.get(chat_id)
            if last is not None and now - last < self.per_chat_interval:
                await asyncio.sleep(self.per_chat_interval - (now - last))
            return
        window = self._group_sends.setdefault(chat_id, deque())
        while window and now - window[0] > GROUP_WINDOW_SECONDS:
            window.popleft()
        if len(window) >= GROUP_MESSAGES_PER_WINDOW:
            await asyncio.sleep(GROUP_WINDOW_SECONDS - (now - window[0]))

    def _note_send(self, chat_id: int) -> None:
        if chat_id > 0:
            self._last_private_send[chat_id] = time.monotonic()
        else:
            self._group_sends.setdefault(chat_id, deque()).append(time.monotonic())

    async def _drain_chat(self, chat_id: int) -> None:
        queue = self._queues[chat_id]
        try:
            while queue and not self._stopping:
                message = queue.popleft()
                self._in_flight += 1
                try:
                    await self._wait_for_chat_turn(chat_id)
                    await self.pace.acquire(bulk=True)
                    try:
                        self._note_send(chat_id)
                        await self._deliver(message)
                    finally:
                        self.pace.release()
                finally:
                    self._in_flight -= 1
                if not queue:
                    self.wake()
        finally:
            self._workers.pop(chat_id, None)
            if not queue:
                self._queues.pop(chat_id, None)
            if len(self._last_private_send) > 50_000:
                self._last_private_send.clear()

    async def _deliver(self, message: outbox.OutgoingMessage) -> None:
        self.recorder.add(await self.attempt(message))

    async def attempt(
        self, message: outbox.OutgoingMessage, *, network_retry_in: float | None = None
    ) -> DeliveryOutcome:
        """Send once and say what came of it: the one reading of Telegram's answers, for
        this sender and the reply lane. `retry_in` is set for a transient error (429 with
        Telegram's `retry_after`, 5xx and the network: `network_retry_in`, else a backoff
        on the message's attempts)."""
        try:
            sent_id, moved_to = await self._call_following_moves(message)
            return DeliveryOutcome(message, outbox.SENT, sent_id, None, None, True, moved_to)
        except RetryAfter as error:
            seconds = retry_after_seconds(error)
            self.pace.pause(seconds)
            return DeliveryOutcome(message, outbox.PENDING, None, "429", seconds, False)
        except Forbidden as error:
            description = description_of(error)
            error_text = f"403 {description}"[:200]
            return DeliveryOutcome(
                message, outbox.UNREACHABLE, None, error_text, None, True, None, description
            )
        except ChatMigrated as error:  # moved twice in one send: the next attempt follows
            return DeliveryOutcome(
                message, outbox.PENDING, None, "chat migrated", 1.0, True, int(error.new_chat_id)
            )
        except BadRequest as error:
            description = description_of(error)
            if "not modified" in description.lower():
                return DeliveryOutcome(message, outbox.SENT, None, None, None, True)
            # Our fault (too long, bad markup), never reported as the member blocking us.
            kind = "too long" if is_too_long(error) else "refused"
            logger.error("outbox message %s refused (%s)", message.id, description)
            error_text = f"400 {kind}: {description}"[:200]
            return DeliveryOutcome(
                message, outbox.FAILED, None, error_text, None, True, None, description
            )
        except NetworkError as error:
            error_text = f"network: {type(error).__name__}"
            if network_retry_in is None and message.attempts + 1 >= MAX_ATTEMPTS:
                return DeliveryOutcome(message, outbox.FAILED, None, error_text, None, True)
            if network_retry_in is None:
                network_retry_in = min(2.0 ** (message.attempts + 1), 300.0)
            return DeliveryOutcome(
                message, outbox.PENDING, None, error_text, network_retry_in, True
            )
        except Exception as error:
            logger.exception("outbox message %s could not be sent", message.id)
            return DeliveryOutcome(message, outbox.FAILED, None, type(error).__name__, None, True)

    async def _call_following_moves(
        self, message: outbox.OutgoingMessage
    ) -> tuple[int | None, int | None]:
        """Send to the chat's current id; a group upgraded to a supergroup (400 with
        `migrate_to_chat_id`) is sent to again at its new id, which is remembered."""
        destination = final_destination(self.chat_moves, message.chat_id)
        try:
            sent_id = await self._call(message, destination)
        except ChatMigrated as error:
            destination = int(error.new_chat_id)
            self.chat_moves[message.chat_id] = destination
            logger.warning("chat %s moved to %s; sending there", message.chat_id, destination)
            sent_id = await self._call(message, destination)
        return sent_id, destination if destination != message.chat_id else None

    async def _send_text(
        self, chat_id: int, text: str, parse_mode: Any, reply_markup: dict[str, Any] | None
    ) -> int | None:
        """A text message in pieces that each fit Telegram's limit; the buttons go on the
        last piece, whose id is the message's (a card is edited there)."""
        pieces = self._pieces(text, parse_mode, MESSAGE_LIMIT)
        result: Any = None
        for number, piece in enumerate(pieces, start=1):
            result = await call_api(
                self.bot,
                "sendMessage",
                {
                    "chat_id": chat_id,
                    "text": piece,
                    "parse_mode": parse_mode,
                    "reply_markup": reply_markup if number == len(pieces) else None,
                    "link_preview_options": NO_LINK_PREVIEW,
                },
            )
        return sent_message_id(result)

    def _caption_pieces(self, caption: Any, parse_mode: Any) -> tuple[str | None, list[str]]:
        if not caption:
            return None, []
        pieces = self._pieces(str(caption), parse_mode, CAPTION_LIMIT)
        return pieces[0], pieces[1:]

    def _pieces(self, text: str, parse_mode: Any, limit: int) -> list[str]:
        html_mode = str(parse_mode or "").upper() == "HTML"
        if fits(text, limit, html_mode=html_mode):
            return [text]
        continued = self.services.catalogue.render(language_of_text(text), CONTINUED_KEY)
        if not html_mode:
            continued = visible_text(continued)
        return split_html(text, continued, limit, html_mode=html_mode)

    async def _call(
        self, message: outbox.OutgoingMessage, chat_id: int | None = None
    ) -> int | None:
        chat_id = message.chat_id if chat_id is None else chat_id
        payload = message.payload
        stored_markup = payload.get("reply_markup") or None
        # Text, edits and deletions go to the Bot API as stored (JSON), answers come back as
        # JSON: no python-telegram-bot objects built either way (see `call_api`).
        inline_markup = None if stored_markup and "keyboard" in stored_markup else stored_markup
        parse_mode = payload.get("parse_mode")
        if message.method == "sendMessage":
            return await self._send_text(chat_id, payload["text"], parse_mode, stored_markup)
        if message.method == "editMessageText":
            html_mode = str(parse_mode or "").upper() == "HTML"
            edited = await call_api(
                self.bot,
                "editMessageText",
                {
                    "chat_id": chat_id,
                    "message_id": int(payload["message_id"]),
                    # An edit cannot become two messages: it keeps what fits.
                    "text": split_html(payload["text"], "", html_mode=html_mode)[0],
                    "parse_mode": parse_mode,
                    "reply_markup": inline_markup,
                },
            )
            return sent_message_id(edited)
        if message.method == "editMessageReplyMarkup":
            edited = await call_api(
                self.bot,
                "editMessageReplyMarkup",
                {
                    "chat_id": chat_id,
                    "message_id": int(payload["message_id"]),
                    "reply_markup": inline_markup,
                },
            )
            return sent_message_id(edited)
        if message.method == "deleteMessages":
            await call_api(
                self.bot,
                "deleteMessages",
                {
                    "chat_id": message.chat_id,
                    "message_ids": [int(i) for i in payload["message_ids"]],
                },
            )
            return None
        reply_markup = keyboard_of(stored_markup, self.bot)
        result: Message | bool
        if message.method in ("sendDocument", "sendPhoto"):
            key = "document" if message.method == "sendDocument" else "photo"
            file_spec = payload[key]
            if "file_id" in file_spec:
                media: InputFile | str = str(file_spec["file_id"])
            else:
                media = InputFile(
                    base64.b64decode(file_spec["base64"]), filename=file_spec["filename"]
                )
            caption, overflow = self._caption_pieces(payload.get("caption"), parse_mode)
            if key == "document":
                result = await self.bot.send_document(
                    chat_id,
                    media,
                    caption=caption,
                    parse_mode=parse_mode,
                    reply_markup=reply_markup,
                )
            else:
                result = await self.bot.send_photo(
                    chat_id,
                    media,
                    caption=payload.get("caption"),
                    parse_mode=parse_mode,
                    reply_markup=reply_markup,
                )
            for piece in overflow:  # the rest of a caption over 1,024, right below it
                await self.bot.send_message(chat_id, piece, parse_mode=parse_mode)
        elif message.method == "sendMediaGroup":
            # An album (the /results charts): its first message's id stands for it.
            album = await self.bot.send_media_group(
                chat_id,
                [
                    InputMediaPhoto(
                        base64.b64decode(item["base64"]),
                        caption=item.get("caption"),
                        parse_mode=item.get("parse_mode"),
                        filename=item["filename"],
                    )
                    for item in payload["media"]
                ],
            )
            return album[0].message_id if album else None
        else:
            raise ValueError(f"unknown outbox method {message.method}")
        return result.message_id if isinstance(result, Message) else None
