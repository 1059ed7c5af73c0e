"""The JobQueue tick that claims due tasks and runs their handlers (SPEC §2).

Each task runs in one unit of work that also marks it done, so its effects (usually messages
queued in the outbox) happen once. On PostgreSQL, rows are claimed with
`FOR UPDATE SKIP LOCKED`, so several instances never run the same task; an instance that
dies leaves a claim that expires and is taken again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Every
from bot.runtime.context import Services
from storage import inbox, outbox, tasks
from storage.errors import is_database_unavailable

logger = logging.getLogger(__name__)

CLAIM_FOR = timedelta(minutes=5)
RELEASE_CHECK_EVERY = timedelta(seconds=5)  # claims of a dead instance: no need to look each tick
MAX_ATTEMPTS = 10
MAX_ROUNDS = 8
INBOX_RETENTION = timedelta(days=3)
FAILED_UPDATE_DAYS = 14  # HIWAR_FAILED_UPDATE_DAYS: how long a failed update's input is kept


def failed_update_keep(services: Services) -> timedelta:
    days = services.settings.extra.get("HIWAR_FAILED_UPDATE_DAYS", str(FAILED_UPDATE_DAYS))
    return timedelta(days=float(days))


# Finished messages to members keep their chat this long (then `outbox.scrub_finished`).
OUTBOX_DEDUPE_WINDOW = timedelta(days=7)
# Finished tasks are deleted this long after they finished (`tasks.purge_finished`).
TASK_RETENTION = timedelta(days=7)


class TaskRunner:
    def __init__(self, services: Services, *, batch: int = 50) -> None:
        self.services = services
        self.batch = batch
        self.owner = services.instance_id
        self.ran_count = 0
        self._release_check = Every(services.clock, RELEASE_CHECK_EVERY)

    async def tick(self) -> int:
        """Run every task due now; returns how many ran."""
        try:
            return await self._tick()
        except Exception as error:
            if is_database_unavailable(error):
                logger.warning("task tick skipped: database unavailable")
                return 0
            raise

    async def _tick(self) -> int:
        """Claim and run due tasks; tasks that queue a follow-up due now (a broadcast's next
        batch of recipients) go on within the same tick, up to `MAX_ROUNDS` claims."""
        ran = 0
        for _ in range(MAX_ROUNDS):
            count = await self._claim_and_run()
            ran += count
            if count == 0:
                break
        return ran

    async def _claim_and_run(self) -> int:
        database, clock = self.services.database, self.services.clock
        async with database.unit_of_work() as uow:
            now = clock.now()
            if self._release_check.due():
                await tasks.release_expired_claims(uow.session, now)
            due = await tasks.claim_due(uow.session, self.owner, now, self.batch, CLAIM_FOR)
            await uow.commit()
        for task in due:
            await self._run(task)
        return len(due)

    async def _run(self, task: tasks.DueTask) -> None:
        database, clock = self.services.database, self.services.clock
        handler = self.services.tasks.handler_for(task.kind)
        try:
            async with database.unit_of_work() as uow:
                if handler is None:
                    raise LookupError(f"no handler for task kind {task.kind}")
                await handler(uow, task.payload, clock.now())
                if await tasks.finish(uow.session, task.id, self.owner, tasks.DONE, clock.now()):
                    uow.after_commit(self.services.wake_sender)
                    await uow.commit()
            self.ran_count += 1
        except Exception as error:
            reason = type(error).__name__
            if not is_database_unavailable(error):
                logger.exception("task %s (%s) failed", task.id, task.kind)
            async with database.unit_of_work() as uow:
                if task.attempts + 1 >= MAX_ATTEMPTS:
                    await tasks.finish(
                        uow.session, task.id, self.owner, tasks.FAILED, clock.now(), reason
                    )
                else:
                    delay = timedelta(seconds=min(30 * 2**task.attempts, 3600))
                    await tasks.retry_later(
                        uow.session, task.id, self.owner, clock.now() + delay, reason
                    )
                await uow.commit()

    async def purge_old_inbox_rows(self) -> int:
        async with self.services.database.unit_of_work() as uow:
            removed = await purge_what_is_no_longer_needed(
                uow.session, self.services.clock.now(), failed_update_keep(self.services)
            )
            await uow.commit()
        return removed


async def purge_what_is_no_longer_needed(
    session: AsyncSession,
    now: datetime,
    failed_update_keep: timedelta = timedelta(days=FAILED_UPDATE_DAYS),
) -> int:
    """The hourly purge: handled and failed updates, leases of dead instances, the text, chat
    and key of old finished messages to members, finished tasks. Returns how many updates
    went."""
    removed = await inbox.purge_handled(session, now - INBOX_RETENTION)
    removed += await inbox.purge_failed(session, now - failed_update_keep)
    await inbox.purge_expired_leases(session, now)
    await outbox.scrub_finished(session, now - OUTBOX_DEDUPE_WINDOW)
    await tasks.purge_finished(session, now - TASK_RETENTION)
    return removed
