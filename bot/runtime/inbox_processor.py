"""Handles stored updates: one chat strictly in order, different chats concurrently (SPEC §2).

Every update is in the inbox table before Telegram is told it arrived. This processor finds
chats with pending updates, takes each chat (a lease in the database on PostgreSQL, so two
instances never handle one chat at once), and hands the chat's updates one after another to
python-telegram-bot's `Application.process_update`.

One update is one transaction (`Database.hold_transaction`): the handlers' units of work
are savepoints of it, and when they are done the processor writes the replies they planned
(`bot/runtime/reply_lane.py`) and the inbox mark into it and commits; then the replies are
sent. A transient error (database unavailable, Telegram's 429, 5xx, network) rolls it all
back and the update is retried later, in order. A fault in our code or a permanent refusal
rolls it back too; the update is then marked failed with its input kept sealed for
`HIWAR_FAILED_UPDATE_DAYS`, the member gets an apology and admins an alert (`python -m bot
failed` lists such updates, `python -m bot replay ID` tries one again).

A stop (SIGTERM/SIGINT) lets the chats in hand finish the update they are on, send and
record its replies, within `drain_seconds`; only then are the rest cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection
from datetime import timedelta
from typing import Any

from telegram import Update

from bot.engines.outbox import PRIORITY_STAFF, queue_text
from bot.runtime.context import CURRENT_UPDATE, HiwarApplication, Services, UpdateScope
from bot.runtime.reply_lane import PlannedReply, ReplyLane, WrittenReplies
from bot.runtime.scheduler import failed_update_keep
from bot.runtime.sender import DeliveryOutcome
from storage import inbox
from storage.errors import is_database_unavailable

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
BATCH = 50
DRAIN_SECONDS = 10.0  # HIWAR_DRAIN_SECONDS: a stop waits this long for the chats in hand


def chat_key_of(update: Update) -> int:
    """The key that orders an update: its chat, else its user, else 0."""
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return 0


def chat_key_of_payload(payload: dict[str, Any]) -> int | None:
    """`chat_key_of` read straight off an update's JSON, for the kinds the bot asks for
    (no python-telegram-bot objects built: the receiver does this for every update); None
    for any other shape."""
    for kind in ("message", "edited_message"):
        part = payload.get(kind)
        if isinstance(part, dict):
            chat = part.get("chat")
            found = chat.get("id") if isinstance(chat, dict) else None
            return found if isinstance(found, int) else None
    query = payload.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        holder = message.get("chat") if isinstance(message, dict) else query.get("from")
        found = holder.get("id") if isinstance(holder, dict) else None
        return found if isinstance(found, int) else None
    return None


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(0.5 * 2**attempts, 60.0))


class InboxProcessor:
    def __init__(
        self,
        services: Services,
        application: HiwarApplication,
        lane: ReplyLane,
        *,
        concurrency: int = 32,
        idle_poll_seconds: float = 1.0,
        drain_seconds: float = DRAIN_SECONDS,
    ) -> None:
        self.services = services
        self.application = application
        self.lane = lane
        self.drain_seconds = drain_seconds
        self.stopping = False
        self.concurrency = concurrency
        self.idle_poll_seconds = idle_poll_seconds
        self.use_leases = services.database.is_postgresql
        self._wake = asyncio.Event()
        self._active: dict[int, asyncio.Task[None]] = {}
        self.handled_count = 0
        # Chats with updates just stored by this instance, in the order they arrived (a dict
        # keeps insertion order: the chat waiting longest starts first when room frees up).
        self._hinted: dict[int, None] = {}
        self._scan_needed = True  # look in the inbox for every chat with due updates

    def wake(self, chat_keys: Collection[int] = ()) -> None:
        """Updates were stored: start their chats (a scan when the chats are not given)."""
        if chat_keys:
            self._hinted.update(dict.fromkeys(chat_keys))
        else:
            self._scan_needed = True
        self._wake.set()

    @property
    def busy(self) -> bool:
        """True while any chat's updates are being handled (replies may still be going out)."""
        return bool(self._active)

    async def run(self, stop: asyncio.Event) -> None:
        """Start chats as updates arrive. The receiver names their chats, so the inbox is
        scanned only at start, every `idle_poll_seconds` (retries, other instances'
        updates) and when a scan found more chats than could start at once."""
        while not stop.is_set():
            self._wake.clear()
            try:
                if self._scan_needed:
                    self._scan_needed = False
                    await self._start_scanned_chats()
                self._start_hinted_chats()
            except Exception as error:
                self._scan_needed = True
                if not is_database_unavailable(error):
                    logger.exception("inbox scan failed")
                await asyncio.sleep(1.0)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.idle_poll_seconds)
            except TimeoutError:
                self._scan_needed = True
        await self.drain()

    async def drain(self) -> None:
        """Let the chats in hand finish the update they are on (replies sent and recorded),
        for up to `drain_seconds`; then cancel what is left (an update not yet committed is
        handled again after the restart, its effects and replies with it)."""
        self.stopping = True
        self.lane.stopping = True
        tasks = list(self._active.values())
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=self.drain_seconds)
            if late:
                logger.warning("stop: %d chats still busy after the drain; cancelled", len(late))
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _start_chat(self, chat_key: int) -> None:
        task = asyncio.create_task(self._run_chat(chat_key), name=f"inbox-chat-{chat_key}")
        self._active[chat_key] = task

    def _start_hinted_chats(self) -> None:
        for chat_key in list(self._hinted):
            if len(self._active) >= self.concurrency:
                return  # the rest start as chats finish
            if chat_key not in self._active:
                del self._hinted[chat_key]
                self._start_chat(chat_key)

    async def _start_scanned_chats(self) -> None:
        room = self.concurrency - len(self._active)
        if room <= 0:
            self._scan_needed = True  # look again when a chat finishes
            return
        now = self.services.clock.now()
        limit = room + len(self._active)
        async with self.services.database.unit_of_work(read_only=True) as uow:
            chats = await inbox.chats_with_pending_updates(uow.session, now, limit=limit)
        left_some = len(chats) >= limit
        for chat_key in chats:
            if chat_key in self._active:
                continue
            if len(self._active) >= self.concurrency:
                left_some = True
                continue
            self._start_chat(chat_key)
        self._scan_needed = self._scan_needed or left_some

    async def _run_chat(self, chat_key: int) -> None:
        try:
            await self._drain_chat(chat_key)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if not is_database_unavailable(error):
                logger.exception("chat worker failed")
            await asyncio.sleep(0.5)
        finally:
            self._active.pop(chat_key, None)
            # Its own updates stored since it last looked, chats waiting for room, or a
            # scan that could not start every chat: go round again.
            if self._hinted or self._scan_needed:
                self._wake.set()

    async def _next_batch(self, chat_key: int) -> list[inbox.StoredUpdate] | None:
        """The chat's next due updates; None when another instance holds the chat.

        On PostgreSQL the chat's lease is taken (or renewed) in the same transaction that
        reads the updates: one round of statements fewer per update than doing both apart.
        """
        now = self.services.clock.now()
        if not self.use_leases:
            async with self.services.database.unit_of_work(read_only=True) as uow:
                return await inbox.pending_for_chat(uow.session, chat_key, now, BATCH)
        async with self.services.database.unit_of_work() as uow:
            owner = self.services.instance_id
            if not await inbox.take_chat_lease(uow.session, chat_key, owner, now, LEASE):
                return None
            batch = await inbox.pending_for_chat(uow.session, chat_key, now, BATCH)
            await uow.commit()
        return batch

    async def _release(self, chat_key: int) -> None:
        with contextlib.suppress(Exception):
            async with self.services.database.unit_of_work() as uow:
                await inbox.release_chat_lease(uow.session, chat_key, self.services.instance_id)
                await uow.commit()

    async def _drain_chat(self, chat_key: int) -> None:
        leased = False
        try:
            while not self.stopping:
                self._hinted.pop(chat_key, None)  # this read sees whatever was stored until now
                batch = await self._next_batch(chat_key)
                if batch is None:
                    return
                leased = self.use_leases
                if not batch:
                    return
                for position, stored in enumerate(batch):
                    if self.stopping:
                        return  # a stop: the rest wait for the restart
                    # Only the first update's prefetched language is sure to be current: an
                    # earlier update of the same batch may have changed it.
                    if not await self.handle(stored, language_is_current=position == 0):
                        return  # postponed: keep this chat's order, try again later
                if len(batch) < BATCH:
                    # Whatever arrived meanwhile is hinted by the receiver (or found by the
                    # next scan): one query per update saved in the usual case.
                    return
        finally:
            if leased:
                await self._release(chat_key)

    async def handle(
        self, stored: inbox.StoredUpdate, *, language_is_current: bool = False
    ) -> bool:
        """Handle one stored update; False when it was postponed for a retry."""
        scope = UpdateScope(
            update_id=stored.update_id,
            language=self.services.settings.default_language,
            holds_transaction=True,
        )
        token = CURRENT_UPDATE.set(scope)
        chat_id: int | None = None
        try:
            written = await self._handle_in_one_transaction(stored, scope, language_is_current)
            chat_id = scope_chat(stored)
            # The transaction is over: what runs now (callbacks of sent replies) writes on its own.
            scope.holds_transaction = False
            scope.marked = True
            if written is not None:
                await self.lane.deliver(written)
        finally:
            CURRENT_UPDATE.reset(token)
        if scope.retry:
            await self._postpone(stored, scope.retry_after)
            return False
        if scope.failed:
            await self._fail(stored, scope, chat_id)
        self.handled_count += 1
        return True

    async def _handle_in_one_transaction(
        self, stored: inbox.StoredUpdate, scope: UpdateScope, language_is_current: bool
    ) -> WrittenReplies | None:
        """Run the handlers; commit their effects, replies and the mark together."""
        results: list[DeliveryOutcome] = []
        await self.lane.settle(stored.chat_key)
        try:
            async with self.services.database.hold_transaction() as held:
                if self.lane.results_waiting:
                    # First, so that this update sees them (e.g. which message shows the
                    # question it answers); they need no transaction of their own.
                    results = await self.lane.record_results(await held.begin())
                update = Update.de_json(stored.payload, self.application.bot)
                sender = update.effective_user
                if language_is_current and sender is not None and sender.id == stored.chat_key:
                    scope.sender_language = stored.chat_member_language
                    scope.sender_language_known = True
                await self.application.process_update(update)
                if scope.retry or scope.failed:
                    return None  # leaving the block rolls everything back
                uow = await held.begin()
                written = await self.lane.write(uow, scope.replies)
                await inbox.mark_done(uow.session, stored.update_id, self.services.clock.now())
                await held.commit()
                results = []
                return written
        except inbox.UpdateAlreadyHandled:
            logger.info("update %s was handled before; skipped", stored.update_id)
            return None
        except Exception as error:
            if is_database_unavailable(error):
                scope.retry = True
            else:
                logger.error(
                    "update %s could not be processed: %s", stored.update_id, type(error).__name__
                )
                scope.failed = True
                scope.error_type = scope.error_type or type(error).__name__
            return None
        finally:
            if results:
                self.lane.results_not_written(results)  # rolled back: the next one writes them

    async def _fail(
        self, stored: inbox.StoredUpdate, scope: UpdateScope, chat_id: int | None
    ) -> None:
        """Keep the input (sealed) for a replay, apologise to the member, tell the admins."""
        services = self.services
        error_type = scope.error_type or "error"
        apology: list[PlannedReply] = []
        if chat_id is not None and not scope.quiet:
            text = services.catalogue.render(scope.language, "errors.generic")
            apology.append(
                PlannedReply(chat_id, "sendMessage", {"text": text, "parse_mode": "HTML"})
            )
        days = round(failed_update_keep(services).total_seconds() / 86400)
        for attempt in range(60):
            try:
                async with services.database.unit_of_work() as uow:
                    now = services.clock.now()
                    await inbox.mark_failed(uow.session, stored.update_id, now, error_type)
                    written = await self.lane.write(uow, apology)
                    bucket = now.strftime("%Y%m%d%H") + str(now.minute // 10)
                    text = services.catalogue.render(
                        services.settings.default_language,
                        "errors.update_failed",
                        update_id=str(stored.update_id),
                        error_type=error_type,
                        days=days,
                    )
                    for admin_id in sorted(services.settings.admin_ids):
                        await queue_text(
                            uow,
                            chat_id=admin_id,
                            text=text,
                            now=now,
                            priority=PRIORITY_STAFF,
                            dedupe_key=f"update-failed:{admin_id}:{error_type}:{bucket}",
                        )
                    uow.after_commit(services.wake_sender)
                    await uow.commit()
                break
            except inbox.UpdateAlreadyHandled:
                return
            except Exception as error:
                if not is_database_unavailable(error):
                    raise
                await asyncio.sleep(min(0.5 * (attempt + 1), 5.0))
        else:
            return
        await self.lane.deliver(written)

    async def _postpone(self, stored: inbox.StoredUpdate, wait: float | None = None) -> None:
        delay = retry_delay(stored.attempts)
        if wait is not None:
            delay = max(delay, timedelta(seconds=wait))
        for attempt in range(60):
            try:
                async with self.services.database.unit_of_work() as uow:
                    await inbox.postpone(
                        uow.session,
                        stored.update_id,
                        self.services.clock.now() + delay,
                        "transient error",
                    )
                    await uow.commit()
                return
            except Exception as error:
                if not is_database_unavailable(error):
                    raise
                await asyncio.sleep(min(0.5 * (attempt + 1), 5.0))


def scope_chat(stored: inbox.StoredUpdate) -> int | None:
    """The chat an apology goes to: the update's chat, if it has one."""
    chat = stored.payload
    for key in ("message", "edited_message", "callback_query"):
        part = chat.get(key)
        if isinstance(part, dict):
            message = part.get("message", part) if key == "callback_query" else part
            found = message.get("chat", {}).get("id") if isinstance(message, dict) else None
            if isinstance(found, int):
                return found
    return None


def describe(update: Any) -> str:
    """An update described without any text or names, for logs."""
    if isinstance(update, Update):
        kind = "message"
        if update.callback_query is not None:
            kind = "callback"
        elif update.edited_message is not None:
            kind = "edited_message"
        elif update.message is None:
            kind = "other"
        return f"update {update.update_id} ({kind})"
    return "no update"
