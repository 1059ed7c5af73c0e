"""The one rate-limited sender that drains the outbox (SPEC §2).

Limits: at most `rate` messages a second overall (shared with direct replies through
`SharedRateLimiter`), one a second per private chat, twenty a minute per group. A 429 pauses
all sending for `retry_after`; a 403 marks the member unreachable and is never retried;
network errors and 5xx are retried with exponential backoff.

Pacing (`GlobalPace`) spaces sends evenly with aiolimiter, a maintained asyncio leaky-bucket
limiter.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import Bot, InlineKeyboardMarkup, InputFile, Message
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter

from bot.runtime.context import Services
from storage import outbox
from storage.errors import is_database_unavailable

logger = logging.getLogger(__name__)

CLAIM_FOR = timedelta(seconds=120)
MAX_ATTEMPTS = 8
GROUP_WINDOW_SECONDS = 60.0
GROUP_MESSAGES_PER_WINDOW = 20
OUTBOX_LANE_WIDTH = 2  # outbox sends waiting on the overall limiter at once; replies go first
RECORD_BATCH = 200


def retry_after_seconds(error: RetryAfter) -> float:
    value = error.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


class GlobalPace:
    """The overall rate shared by the sender and direct replies, plus a global 429 pause.

    aiolimiter's leaky bucket with a capacity of one send, leaking at `rate`: sends are evenly
    spaced and never bunch. A bigger bucket (catching up time lost to a busy event loop) was
    measured to reach more of the limit but provoked 429s under load: see README, benchmarks.
    """

    def __init__(self, rate_per_second: float) -> None:
        self.rate = rate_per_second
        self.limiter = AsyncLimiter(1, 1.0 / rate_per_second)
        self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def acquire(self) -> None:
        """Wait for a slot; a pause that starts while we wait for the slot is honoured too."""
        while True:
            # The pause can be extended while we sleep (another 429): look again after waking.
            while (wait := self._paused_until - time.monotonic()) > 0:  # noqa: ASYNC110
                await asyncio.sleep(wait)
            await self.limiter.acquire()
            if self._paused_until <= time.monotonic():
                return


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
        if endpoint.startswith(("send", "edit", "copy", "forward")):
            await self.pace.acquire()
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


class OutcomeRecorder:
    """Writes delivery results in batches: one transaction every few dozen milliseconds
    instead of one per message, so sending keeps Telegram's pace and handlers keep their
    database connections. A crash can only resend what was sent since the last batch."""

    def __init__(self, services: Services, owner: str, *, interval: float = 0.05) -> None:
        self.services = services
        self.owner = owner
        self.interval = interval
        self._buffer: list[DeliveryOutcome] = []
        self._full = asyncio.Event()

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def add(self, outcome: DeliveryOutcome) -> None:
        self._buffer.append(outcome)
        if len(self._buffer) >= RECORD_BATCH:
            self._full.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set() or self._buffer:
            self._full.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), timeout=self.interval)
            if not self._buffer:
                continue
            try:
                await self.flush()
            except Exception as error:
                if not is_database_unavailable(error):
                    logger.exception("could not record outbox results")
                    self._buffer.clear()
                await asyncio.sleep(0.5)
                if stop.is_set() and is_database_unavailable(error):
                    return

    async def flush(self) -> None:
        batch = self._buffer[:RECORD_BATCH]
        now = self.services.clock.now()
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
        async with self.services.database.unit_of_work() as uow:
            await outbox.record_outcomes(uow.session, self.owner, now, finished, postponed)
            for item in batch:
                if item.retry_in is not None:
                    continue
                if item.status == outbox.UNREACHABLE:
                    await outbox.mark_member_unreachable(uow.session, item.message.chat_id)
                if item.status in (outbox.UNREACHABLE, outbox.FAILED):
                    await queue_failure_notice(uow, item.message, now)
            await uow.commit()
        del self._buffer[: len(batch)]


async def queue_failure_notice(uow: Any, message: outbox.OutgoingMessage, now: Any) -> None:
    """Tell whoever asked for it (e.g. a moderator's relayed reply) that it was not delivered."""
    notice = message.payload.get("on_failure")
    if not isinstance(notice, dict):
        return
    await outbox.enqueue(
        uow.session,
        chat_id=int(notice["chat_id"]),
        method="sendMessage",
        payload={"text": str(notice["text"]), "parse_mode": "HTML"},
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
        self._wake = asyncio.Event()
        self._queues: dict[int, deque[outbox.OutgoingMessage]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._last_private_send: dict[int, float] = {}
        self._group_sends: dict[int, deque[float]] = {}
        self._lane = asyncio.Semaphore(OUTBOX_LANE_WIDTH)
        self._in_flight = 0
        self.recorder = OutcomeRecorder(services, self.owner)

    def wake(self) -> None:
        self._wake.set()

    @property
    def backlog(self) -> int:
        queued = sum(len(queue) for queue in self._queues.values())
        return queued + self._in_flight + self.recorder.pending

    async def run(self, stop: asyncio.Event) -> None:
        recorder = asyncio.create_task(self.recorder.run(stop), name="outbox-recorder")
        try:
            await self._run(stop)
        finally:
            await recorder

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                claimed = await self._claim()
            except Exception as error:
                if not is_database_unavailable(error):
                    logger.exception("outbox claim failed")
                claimed = 0
                await asyncio.sleep(1.0)
            if claimed == 0 or self.backlog >= self._target_backlog():
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.idle_poll_seconds)
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
            while queue:
                message = queue.popleft()
                self._in_flight += 1
                try:
                    await self._wait_for_chat_turn(chat_id)
                    async with self._lane:
                        await self.pace.acquire()
                    self._note_send(chat_id)
                    await self._deliver(message)
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
        status = outbox.SENT
        error_text: str | None = None
        sent_id: int | None = None
        retry_in: float | None = None
        count_attempt = True
        try:
            sent_id = await self._call(message)
        except RetryAfter as error:
            seconds = retry_after_seconds(error)
            self.pace.pause(seconds)
            retry_in, count_attempt, error_text = seconds, False, "429"
        except Forbidden:
            status, error_text = outbox.UNREACHABLE, "403"
        except ChatMigrated:
            status, error_text = outbox.FAILED, "chat migrated"
        except BadRequest as error:
            if "not modified" in str(error).lower():
                status = outbox.SENT
            else:
                status, error_text = outbox.FAILED, f"400 {type(error).__name__}"
        except NetworkError as error:
            if message.attempts + 1 >= MAX_ATTEMPTS:
                status, error_text = outbox.FAILED, f"network: {type(error).__name__}"
            else:
                retry_in = min(2.0 ** (message.attempts + 1), 300.0)
                error_text = f"network: {type(error).__name__}"
        except Exception as error:
            logger.exception("outbox message %s could not be sent", message.id)
            status, error_text = outbox.FAILED, type(error).__name__
        self.recorder.add(
            DeliveryOutcome(message, status, sent_id, error_text, retry_in, count_attempt)
        )

    async def _call(self, message: outbox.OutgoingMessage) -> int | None:
        payload = message.payload
        markup = payload.get("reply_markup")
        reply_markup = InlineKeyboardMarkup.de_json(markup, self.bot) if markup else None
        parse_mode = payload.get("parse_mode")
        result: Message | bool
        if message.method == "sendMessage":
            result = await self.bot.send_message(
                message.chat_id,
                payload["text"],
                parse_mode=parse_mode,
                reply_markup=reply_markup,
                disable_web_page_preview=True,
            )
        elif message.method == "editMessageText":
            result = await self.bot.edit_message_text(
                payload["text"],
                chat_id=message.chat_id,
                message_id=int(payload["message_id"]),
                parse_mode=parse_mode,
                reply_markup=reply_markup,
            )
        elif message.method in ("sendDocument", "sendPhoto"):
            key = "document" if message.method == "sendDocument" else "photo"
            file_spec = payload[key]
            if "file_id" in file_spec:
                media: InputFile | str = str(file_spec["file_id"])
            else:
                media = InputFile(
                    base64.b64decode(file_spec["base64"]), filename=file_spec["filename"]
                )
            if key == "document":
                result = await self.bot.send_document(
                    message.chat_id,
                    media,
                    caption=payload.get("caption"),
                    parse_mode=parse_mode,
                    reply_markup=reply_markup,
                )
            else:
                result = await self.bot.send_photo(
                    message.chat_id,
                    media,
                    caption=payload.get("caption"),
                    parse_mode=parse_mode,
                    reply_markup=reply_markup,
                )
        else:
            raise ValueError(f"unknown outbox method {message.method}")
        return result.message_id if isinstance(result, Message) else None
