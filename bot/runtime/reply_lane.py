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
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.runtime.context import Services
from bot.runtime.sender import (
    RECORD_BATCH,
    DeliveryOutcome,
    GlobalPace,
    OutboxSender,
    OutcomeRecorder,
    write_outcomes,
)
from storage import outbox
from storage.database import UnitOfWork

logger = logging.getLogger(__name__)

PRIORITY_REPLY = 100  # above every other outbox message: sent first after a restart
CLAIM_FOR = timedelta(seconds=120)
PATIENCE_SECONDS = 30.0  # retried here this long, then the outbox sender carries on
FIRST_BACKOFF_SECONDS = 0.25
MAX_BACKOFF_SECONDS = 8.0
SETTLE_SECONDS = 5.0  # the longest a chat's next update waits for its replies' results

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
    """Results of sent replies, written by the next update's transaction (`record_in`, at
    its start, so the chat's next update sees them: the question message it retires) or
    else by a group commit of their own. A result is taken by one transaction at a time and
    forgotten once that transaction commits; if it rolls back, the next one takes it."""

    def __init__(self, services: Services, owner: str, *, spacing: float) -> None:
        super().__init__(services, owner, spacing=spacing)
        self._taken: set[int] = set()
        self._changed = asyncio.Event()

    def take(self) -> list[DeliveryOutcome]:
        batch = [item for item in self._buffer if id(item) not in self._taken][:RECORD_BATCH]
        self._taken.update(id(item) for item in batch)
        return batch

    def _taken_changed(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def release(self, batch: list[DeliveryOutcome]) -> None:
        """`batch` was not written after all (its transaction rolled back)."""
        self._taken.difference_update(id(item) for item in batch)
        self._taken_changed()

    def forget(self, written: list[DeliveryOutcome]) -> None:
        done = {id(item) for item in written}
        self._buffer = [item for item in self._buffer if id(item) not in done]
        self._taken.difference_update(done)
        self._taken_changed()

    async def settle(self, chat_id: int) -> None:
        """Wait while another transaction is writing results of this chat's replies: the
        chat's next update must see them (on PostgreSQL transactions run side by side; on
        SQLite the writer queue already orders them)."""
        deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
        while any(
            id(item) in self._taken and item.message.chat_id == chat_id for item in self._buffer
        ):
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                logger.warning(
                    "reply results of a chat still being written after %s s; going on",
                    SETTLE_SECONDS,
                )
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=left)

    async def record_in(self, uow: UnitOfWork) -> list[DeliveryOutcome]:
        """Write the results waiting so far into `uow` (forgotten once it commits); the
        caller releases them if it does not commit."""
        batch = self.take()
        if batch:
            try:
                await write_outcomes(uow, self.services, self.owner, batch)
            except BaseException:
                self.release(batch)  # e.g. the database went away: the next one takes them
                raise
            uow.after_commit(lambda: self.forget(batch))
        return batch

    async def flush(self) -> None:
        batch = self.take()
        if not batch:
            return
        try:
            async with self.services.database.unit_of_work() as uow:
                await write_outcomes(uow, self.services, self.owner, batch)
                await uow.commit()
        finally:
            self.release(batch)
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

    @property
    def results_waiting(self) -> bool:
        return self.recorder.pending > 0

    async def record_results(self, uow: UnitOfWork) -> list[DeliveryOutcome]:
        """Write the results of replies sent before into `uow` (an update's transaction,
        which commits anyway: no transaction of their own)."""
        return await self.recorder.record_in(uow)

    async def settle(self, chat_id: int) -> None:
        await self.recorder.settle(chat_id)

    def results_not_written(self, batch: list[DeliveryOutcome]) -> None:
        self.recorder.release(batch)

    async def write(self, uow: UnitOfWork, planned: list[PlannedReply]) -> WrittenReplies:
        """Write the planned replies as outbox rows claimed by this instance (no commit)."""
        if not planned:
            return WrittenReplies([], [])
        rows = [outbox.ClaimedRow(p.chat_id, p.method, p.payload) for p in planned]
        messages = await outbox.enqueue_claimed(
            uow.session,
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
        """Send now, retrying transient errors here for up to `PATIENCE_SECONDS` (then the
        outbox sender carries on). Telegram's answers are read by `OutboxSender.attempt`,
        the same as for every other message (a group that moved is followed, a refusal for
        length is never "blocked")."""
        waited = 0.0
        attempt = 0
        while True:
            backoff = min(FIRST_BACKOFF_SECONDS * 2**attempt, MAX_BACKOFF_SECONDS)
            await self.pace.acquire()
            try:
                outcome = await self.sender.attempt(message, network_retry_in=backoff)
            finally:
                self.pace.release()
            delay = outcome.retry_in
            if delay is None:
                return outcome
            attempt += 1
            if self.stopping or waited + delay > PATIENCE_SECONDS:
                logger.info("reply %s left to the outbox sender (%s)", message.id, outcome.error)
                return outcome
            logger.info("reply %s: %s; again in %.2f s", message.id, outcome.error, delay)
            if outcome.moved_to is not None:
                # Moved twice in one send: the next attempt follows the move.
                self.sender.chat_moves[message.chat_id] = outcome.moved_to
            waited += delay
            await asyncio.sleep(delay)

    async def run_recorder(self, stop: asyncio.Event) -> None:
        await self.recorder.run(stop)
