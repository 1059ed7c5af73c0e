"""Direct replies that belong to their update's transaction (issue 14).

A handler does not send its replies: `say`/`send_html` (and the flow helpers) plan them on
the update in hand. When the handler is done, the inbox processor writes them as outbox rows
in the same transaction as the update's effects and its inbox mark, already claimed by this
instance (high priority), commits, and hands them to this lane, which sends them at once, in
order, and records each result with a group commit (`OutcomeRecorder`).

What that guarantees:

- committed, not yet sent (a crash, a kill, a deploy): the rows stay claimed by this
  instance; at its restart (or when the claim expires, for another instance) they go back to
  the outbox and the outbox sender sends them. Nothing a member was told is lost.
- sent, not yet recorded: Telegram has no idempotency key, so such a row is sent again after
  a crash. The window is the time from Telegram's answer to the group commit of the result
  (tens of milliseconds); the chaos tests count the rows in it at each kill.
- transient errors (429, honouring `retry_after`; 5xx; network): retried here with backoff
  for up to `PATIENCE_SECONDS`, then left to the outbox sender, which keeps retrying.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter

from bot.runtime.context import Services
from bot.runtime.sender import (
    RECORD_BATCH,
    DeliveryOutcome,
    GlobalPace,
    OutboxSender,
    OutcomeRecorder,
    queue_failure_notice,
    retry_after_seconds,
)
from storage import outbox
from storage.database import UnitOfWork

logger = logging.getLogger(__name__)

PRIORITY_REPLY = 100  # above every other outbox message: sent first after a restart
CLAIM_FOR = timedelta(seconds=120)
PATIENCE_SECONDS = 30.0  # retried here this long, then the outbox sender carries on
FIRST_BACKOFF_SECONDS = 0.25
MAX_BACKOFF_SECONDS = 8.0

OnSent = Callable[[int], Awaitable[None]]


@dataclass
class PlannedReply:
    """A reply a handler will make: a Bot API method for one chat and its parameters."""

    chat_id: int
    # sendMessage, editMessageText, editMessageReplyMarkup, sendDocument, sendPhoto,
    # sendMediaGroup
    method: str
    payload: dict[str, Any]
    on_sent: OnSent | None = None  # called with the sent message's id (not after a restart)


class LaneRecorder(OutcomeRecorder):
    """Results of sent replies, written by the next transaction that commits anyway (the
    next update's, see `record_in`) or else by a group commit of their own."""

    def take(self) -> list[DeliveryOutcome]:
        return list(self._buffer[:RECORD_BATCH])

    def forget(self, written: list[DeliveryOutcome]) -> None:
        done = {id(item) for item in written}
        self._buffer = [item for item in self._buffer if id(item) not in done]

    async def write(self, uow: UnitOfWork, batch: list[DeliveryOutcome]) -> None:
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
        await outbox.record_outcomes(uow.session, self.owner, now, finished, postponed)
        for item in batch:
            if item.retry_in is None and item.status == outbox.UNREACHABLE:
                await outbox.mark_member_unreachable(uow.session, item.message.chat_id)
            if item.retry_in is None and item.status in (outbox.UNREACHABLE, outbox.FAILED):
                await queue_failure_notice(uow, item.message, now, item.status)
            subject = item.message.payload.get(outbox.LINK_FIELD)
            if item.status == outbox.SENT and item.sent_id and isinstance(subject, str):
                await outbox.remember_sent(
                    uow.session, item.message.chat_id, item.sent_id, subject, now
                )
        if postponed:
            uow.after_commit(self.services.wake_sender)

    async def record_in(self, uow: UnitOfWork) -> None:
        """Write the results waiting so far into `uow` (forgotten once it commits)."""
        batch = self.take()
        if not batch:
            return
        await self.write(uow, batch)
        uow.after_commit(lambda: self.forget(batch))

    async def flush(self) -> None:
        batch = self.take()
        async with self.services.database.unit_of_work() as uow:
            await self.write(uow, batch)
            await uow.commit()
        self.forget(batch)


@dataclass(frozen=True)
class WrittenReplies:
    messages: list[outbox.OutgoingMessage]
    planned: list[PlannedReply]


class ReplyLane:
    def __init__(self, services: Services, sender: OutboxSender, pace: GlobalPace) -> None:
        self.services = services
        self.sender = sender
        self.pace = pace
        self.owner = services.instance_id
        spacing = 0.01 if services.database.is_postgresql else 0.03
        self.recorder = LaneRecorder(services, self.owner, spacing=spacing)
        self.stopping = False  # a stop has begun: transient errors are left to the restart
        self.sent_count = 0

    @property
    def unrecorded(self) -> int:
        return self.recorder.pending

    async def write(self, uow: UnitOfWork, planned: list[PlannedReply]) -> WrittenReplies:
        """Write the planned replies as outbox rows claimed by this instance (no commit),
        and the results of replies sent before, which need no transaction of their own."""
        await self.recorder.record_in(uow)
        session = uow.session
        rows = [outbox.ClaimedRow(p.chat_id, p.method, p.payload) for p in planned]
        messages = await outbox.enqueue_claimed(
            session,
            rows,
            owner=self.owner,
            now=self.services.clock.now(),
            claim_for=CLAIM_FOR,
            priority=PRIORITY_REPLY,
        )
        return WrittenReplies(messages, planned)

    async def deliver(self, written: WrittenReplies) -> None:
        """Send committed replies in order and record each result."""
        for message, planned in zip(written.messages, written.planned, strict=True):
            outcome = await self._send(message)
            self.recorder.add(outcome)
            if outcome.status == outbox.SENT and outcome.retry_in is None:
                self.sent_count += 1
                if planned.on_sent is not None and outcome.sent_id is not None:
                    try:
                        await planned.on_sent(outcome.sent_id)
                    except Exception as error:
                        logger.warning("after a reply was sent: %s", type(error).__name__)

    async def _send(self, message: outbox.OutgoingMessage) -> DeliveryOutcome:
        waited = 0.0
        attempt = 0
        while True:
            delay: float
            count_attempt = True
            await self.pace.acquire()
            try:
                sent_id = await self.sender._call(message)
                return DeliveryOutcome(message, outbox.SENT, sent_id, None, None, False)
            except RetryAfter as error:
                delay = retry_after_seconds(error)
                self.pace.pause(delay)
                error_text, count_attempt = "429", False
            except Forbidden:
                logger.info("reply not delivered: the member has blocked the bot")
                return DeliveryOutcome(message, outbox.UNREACHABLE, None, "403", None, False)
            except ChatMigrated:
                return DeliveryOutcome(message, outbox.FAILED, None, "chat migrated", None, False)
            except BadRequest as error:
                if "not modified" in str(error).lower():
                    return DeliveryOutcome(message, outbox.SENT, None, None, None, False)
                logger.info("reply %s (%s) refused: %s", message.id, message.method, error)
                text = f"400 {type(error).__name__}"
                return DeliveryOutcome(message, outbox.FAILED, None, text, None, False)
            except NetworkError as error:
                delay = min(FIRST_BACKOFF_SECONDS * 2**attempt, MAX_BACKOFF_SECONDS)
                error_text = f"network: {type(error).__name__}"
            except Exception as error:
                logger.error("reply %s could not be sent: %s", message.id, type(error).__name__)
                name = type(error).__name__
                return DeliveryOutcome(message, outbox.FAILED, None, name, None, False)
            finally:
                self.pace.release()
            attempt += 1
            if self.stopping or waited + delay > PATIENCE_SECONDS:
                logger.info("reply %s left to the outbox sender (%s)", message.id, error_text)
                return DeliveryOutcome(
                    message, outbox.PENDING, None, error_text, delay, count_attempt
                )
            logger.info("reply %s: %s; again in %.2f s", message.id, error_text, delay)
            waited += delay
            await asyncio.sleep(delay)

    async def run_recorder(self, stop: asyncio.Event) -> None:
        await self.recorder.run(stop)
