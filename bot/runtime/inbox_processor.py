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
import logging
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, NamedTuple

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
# A lease still held for longer than this is used as it is (no statement to renew it).
LEASE_KEPT_WITHOUT_RENEWAL = timedelta(seconds=30)
# Leases of chats whose updates are done are released together, this often: another instance
# waits at most this long (plus its scan) for a chat this one has just finished.
RELEASE_EVERY_SECONDS = 0.2
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


class Attempt(NamedTuple):
    """How one try at an update went."""

    stored: inbox.StoredUpdate | None  # the update tried; None: none was due (or not ours)
    written: WrittenReplies | None = None  # its replies, committed with it
    lease_rolled_back: bool = False  # the chat's lease was taken in the rolled-back transaction
    needs_savepoints: bool = False  # rolled back: run it again with savepoints


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
        # PostgreSQL: the chat leases this instance holds (chat → the expiry it set), those
        # of chats it has finished with, to be released together, and those whose release
        # is being written (a chat among them that starts again renews its lease).
        self._leases: dict[int, datetime] = {}
        self._to_release: dict[int, datetime] = {}
        self._releasing: set[int] = set()

    def wake(self, chat_keys: Collection[int] = ()) -> None:
        """Updates were stored: start their chats (a scan when the chats are not given)."""
        if chat_keys:
            self._hinted.update(dict.fromkeys(chat_keys))
        else:
            self._scan_needed = True
        self._wake.set()

    @property
    def busy(self) -> bool:
        """True while any chat's updates are being handled (replies may still be going out)
        or its lease is still to be released."""
        return bool(self._active or self._to_release or self._releasing)

    async def run(self, stop: asyncio.Event) -> None:
        """Start chats as updates arrive. The receiver names their chats, so the inbox is
        scanned only at start, every `idle_poll_seconds` (retries, other instances'
        updates) and when a scan found more chats than could start at once."""
        releaser = asyncio.create_task(self._release_finished_leases(stop), name="chat-leases")
        try:
            await self._start_chats_until(stop)
            await self.drain()
            await releaser
        finally:
            releaser.cancel()

    async def _start_chats_until(self, stop: asyncio.Event) -> None:
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

    def _lease_held(self, chat_key: int, now: datetime) -> bool:
        """This instance holds the chat's lease for a while yet (its last updates were just
        handled and the release is not written): it is used without a statement."""
        self._to_release.pop(chat_key, None)
        held_until = self._leases.get(chat_key)
        return (
            held_until is not None
            and chat_key not in self._releasing
            and held_until - now >= LEASE_KEPT_WITHOUT_RENEWAL
        )

    async def _take_lease(self, chat_key: int) -> bool:
        """Take (or renew) the chat's lease in a transaction of its own."""
        now = self.services.clock.now()
        try:
            async with self.services.database.unit_of_work() as uow:
                owner = self.services.instance_id
                if not await inbox.take_chat_lease(uow.session, chat_key, owner, now, LEASE):
                    self._leases.pop(chat_key, None)
                    return False
                await uow.commit()
        except Exception as error:
            if not is_database_unavailable(error):
                logger.error("chat lease could not be taken: %s", type(error).__name__)
            return False  # the chat is found again by the next scan
        self._leases[chat_key] = now + LEASE
        return True

    def _finished_with(self, chat_key: int) -> None:
        """The chat's updates are done: its lease is released with the next group."""
        held_until = self._leases.get(chat_key)
        if held_until is not None:
            self._to_release[chat_key] = held_until

    async def _release_finished_leases(self, stop: asyncio.Event) -> None:
        """Release the leases of finished chats together, every `RELEASE_EVERY_SECONDS`
        (one transaction for all of them); at a stop, all that are left (a few tries: a
        lease not released expires, and this instance's are released at its restart)."""
        tries_at_stop = 5
        while True:
            stopping = stop.is_set() and not self._active
            if self._to_release and not await self._release_group():
                tries_at_stop -= 1
            if stopping and (not self._to_release or tries_at_stop <= 0):
                return
            await asyncio.sleep(0.05 if stopping else RELEASE_EVERY_SECONDS)

    async def _release_group(self) -> bool:
        group = {
            chat: until for chat, until in self._to_release.items() if chat not in self._active
        }
        if not group:
            return True
        self._releasing.update(group)
        try:
            async with self.services.database.unit_of_work() as uow:
                # A lease renewed since (its chat started again) has a new expiry: kept.
                await inbox.release_chat_leases(uow.session, self.services.instance_id, group)
                await uow.commit()
        except Exception as error:
            if not is_database_unavailable(error):
                logger.error("chat leases could not be released: %s", type(error).__name__)
            return False
        finally:
            self._releasing.difference_update(group)
        for chat, until in group.items():
            if self._to_release.get(chat) == until:
                del self._to_release[chat]
            if self._leases.get(chat) == until:
                del self._leases[chat]
        return True

    async def _drain_chat(self, chat_key: int) -> None:
        try:
            while not self.stopping:
                self._hinted.pop(chat_key, None)  # the read below sees what was stored until now
                # The chat's due updates are read in the first one's transaction, which on
                # PostgreSQL also takes the chat's lease: no transaction of their own.
                batch: list[inbox.StoredUpdate] = []
                if not await self.handle(chat_key, read_into=batch):
                    return  # nothing due, postponed, or another instance holds the chat
                for stored in batch[1:]:
                    if self.stopping:
                        return  # a stop: the rest wait for the restart
                    if not await self.handle(chat_key, stored):
                        return  # postponed: keep this chat's order, try again later
                if len(batch) < BATCH:
                    # Whatever arrived meanwhile is hinted by the receiver (or found by the
                    # next scan): one query per update saved in the usual case.
                    return
        finally:
            if self.use_leases:
                self._finished_with(chat_key)

    async def handle(
        self,
        chat_key: int,
        stored: inbox.StoredUpdate | None = None,
        *,
        read_into: list[inbox.StoredUpdate] | None = None,
    ) -> bool:
        """Handle the stored update `stored` of the chat, or (None) the chat's first due one,
        read in the same transaction with the rest of its due updates (put in `read_into`).
        False when there was none, it was postponed for a retry, or another instance holds
        the chat."""
        scope, attempt = await self._attempt(chat_key, stored, read_into, savepoints=False)
        if attempt.stored is not None and attempt.needs_savepoints:
            # A unit of work had to be undone alone: once more, every unit a savepoint.
            logger.info("update %s runs again with savepoints", attempt.stored.update_id)
            if attempt.lease_rolled_back and not await self._take_lease(chat_key):
                return False
            scope, attempt = await self._attempt(chat_key, attempt.stored, None, savepoints=True)
        handled = attempt.stored
        if handled is None:
            return False
        if attempt.lease_rolled_back and not await self._take_lease(chat_key):
            return False  # rolled back with the lease it took; another instance has it now
        if scope.retry:
            await self._postpone(handled, scope.retry_after)
            return False
        if scope.failed:
            await self._fail(handled, scope, scope_chat(handled))
        self.handled_count += 1
        return True

    async def _attempt(
        self,
        chat_key: int,
        stored: inbox.StoredUpdate | None,
        read_into: list[inbox.StoredUpdate] | None,
        *,
        savepoints: bool,
    ) -> tuple[UpdateScope, Attempt]:
        scope = UpdateScope(
            update_id=stored.update_id if stored is not None else 0,
            language=self.services.settings.default_language,
            holds_transaction=True,
        )
        token = CURRENT_UPDATE.set(scope)
        try:
            attempt = await self._handle_in_one_transaction(
                chat_key, stored, scope, read_into, savepoints
            )
            # The transaction is over: what runs now (callbacks of sent replies) writes on its own.
            scope.holds_transaction = False
            scope.marked = True
            if attempt.written is not None:
                await self.lane.deliver(attempt.written)
        finally:
            CURRENT_UPDATE.reset(token)
        return scope, attempt

    async def _handle_in_one_transaction(
        self,
        chat_key: int,
        stored: inbox.StoredUpdate | None,
        scope: UpdateScope,
        read_into: list[inbox.StoredUpdate] | None,
        savepoints: bool,
    ) -> Attempt:
        """Run the handlers; commit their effects, replies and the mark together (with the
        chat's lease and the reading of its due updates, when `stored` is None)."""
        results: list[DeliveryOutcome] = []
        language_is_current = False
        lease_until: datetime | None = None
        await self.lane.settle(chat_key)
        try:
            async with self.services.database.hold_transaction(savepoints=savepoints) as held:
                uow = await held.begin()
                if stored is None:
                    now = self.services.clock.now()
                    if self.use_leases and not self._lease_held(chat_key, now):
                        owner = self.services.instance_id
                        if not await inbox.take_chat_lease(
                            uow.session, chat_key, owner, now, LEASE
                        ):
                            self._leases.pop(chat_key, None)
                            return Attempt(None)
                        lease_until = now + LEASE
                    batch = await inbox.pending_for_chat(uow.session, chat_key, now, BATCH)
                    if not batch:
                        return Attempt(None)  # nothing due (a lease just taken is rolled back)
                    if read_into is not None:
                        read_into.extend(batch)
                    stored = batch[0]
                    scope.update_id = stored.update_id
                    # Only the first update's member language is sure to be current: an
                    # earlier update of the same batch may change it.
                    language_is_current = True
                if self.lane.results_waiting:
                    # First, so that this update sees them (e.g. which message shows the
                    # question it answers); they need no transaction of their own.
                    results = await self.lane.record_results(uow)
                update = Update.de_json(stored.payload, self.application.bot)
                sender = update.effective_user
                if language_is_current and sender is not None and sender.id == stored.chat_key:
                    scope.sender_language = stored.chat_member_language
                    scope.sender_language_known = True
                await self.application.process_update(update)
                if held.needs_savepoints:
                    return Attempt(
                        stored, lease_rolled_back=lease_until is not None, needs_savepoints=True
                    )
                if scope.retry or scope.failed:
                    # Leaving the block rolls everything back (a lease just taken too).
                    return Attempt(stored, lease_rolled_back=lease_until is not None)
                written = await self.lane.write(uow, scope.replies)
                await inbox.mark_done(uow.session, stored.update_id, self.services.clock.now())
                await held.commit()
                results = []
                if lease_until is not None:
                    self._leases[chat_key] = lease_until
                return Attempt(stored, written)
        except inbox.UpdateAlreadyHandled:
            logger.info("update %s was handled before; skipped", scope.update_id)
            return Attempt(stored, lease_rolled_back=lease_until is not None)
        except Exception as error:
            if stored is None:
                # Nothing read yet (the database went away): the chat is found again by
                # the next scan.
                if not is_database_unavailable(error):
                    logger.error("chat updates could not be read: %s", type(error).__name__)
                return Attempt(None)
            if is_database_unavailable(error):
                scope.retry = True
            else:
                logger.error(
                    "update %s could not be processed: %s", stored.update_id, type(error).__name__
                )
                scope.failed = True
                scope.error_type = scope.error_type or type(error).__name__
            return Attempt(stored, lease_rolled_back=lease_until is not None)
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
