"""Due-time tasks (SPEC §2): claimed by the JobQueue tick, run once, survive restarts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.clock import Every, ManualClock
from bot.engines.tasks import schedule_task
from bot.runtime.application import FEATURES
from bot.runtime.scheduler import TaskRunner
from storage.models import AuditEntry, ScheduledTask
from tests.fake_telegram import FakeBotApi
from tests.support import effect_feature
from tests.support.harness import BotHarness

WITH_EFFECTS = (*FEATURES, effect_feature)


async def runs_of(harness: BotHarness) -> list[str]:
    async with harness.db.unit_of_work() as uow:
        rows = await uow.session.scalars(
            select(AuditEntry.record_id).where(AuditEntry.action == "test.task_ran")
        )
        return [row or "" for row in rows]


async def schedule(harness: BotHarness, n: int, due_in: timedelta, chat_id: int = 95_001) -> None:
    async with harness.db.unit_of_work() as uow:
        now = harness.clock.now()
        await schedule_task(
            uow,
            kind="test.note",
            payload={"n": n, "chat_id": chat_id},
            due_at=now + due_in,
            now=now,
            dedupe_key=f"note:{n}",
        )
        await uow.commit()


async def test_a_task_runs_once_when_due_even_across_a_restart(
    fake_api: FakeBotApi, database_url: str
) -> None:
    harness = BotHarness(fake_api, database_url, features=WITH_EFFECTS)
    await harness.start()
    try:
        await schedule(harness, 1, timedelta(hours=2))
        await asyncio.sleep(0.6)  # a few ticks: not due yet
        assert await runs_of(harness) == []
        await harness.restart()
        harness.clock.advance(timedelta(hours=2, seconds=1))
        await fake_api.wait_for(lambda: bool(fake_api.messages_to(95_001)), timeout=20)
        await asyncio.sleep(0.6)  # more ticks: it must not run again
        assert await runs_of(harness) == ["1"]
        assert [m.text for m in fake_api.messages_to(95_001)] == ["task 1"]
        async with harness.db.unit_of_work() as uow:
            status = await uow.session.scalar(
                select(ScheduledTask.status).where(ScheduledTask.kind == "test.note")
            )
        assert status == "done"
    finally:
        await harness.stop()


async def test_two_runners_claiming_together_run_each_task_once(
    fake_api: FakeBotApi, database_url: str
) -> None:
    harness = BotHarness(fake_api, database_url, features=WITH_EFFECTS)
    await harness.start()
    try:
        assert harness.runtime is not None and harness.runtime.services is not None
        # Stop the runtime's own tick so only the two runners below claim.
        job_queue = harness.runtime.application.job_queue  # type: ignore[union-attr]
        for job in job_queue.get_jobs_by_name("due-tasks"):
            job.schedule_removal()
        for n in range(60):
            await schedule(harness, n, timedelta(seconds=-1), chat_id=96_000 + n)
        services = harness.runtime.services
        first, second = TaskRunner(services, batch=7), TaskRunner(services, batch=7)
        first.owner, second.owner = "instance-a", "instance-b"

        async def drain(runner: TaskRunner) -> int:
            total = 0
            while (ran := await runner.tick()) > 0:
                total += ran
            return total

        counts = await asyncio.gather(drain(first), drain(second))
        assert sum(counts) == 60
        runs = await runs_of(harness)
        assert sorted(runs, key=int) == [str(n) for n in range(60)]
        async with harness.db.unit_of_work() as uow:
            pending = await uow.session.scalar(
                select(func.count())
                .select_from(ScheduledTask)
                .where(ScheduledTask.kind == "test.note", ScheduledTask.status != "done")
            )
        assert pending == 0
    finally:
        await harness.stop()


def test_housekeeping_runs_at_most_once_per_period_of_the_bots_clock() -> None:
    clock = ManualClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    every = Every(clock, timedelta(seconds=5))
    assert every.due()  # the first poll after start-up always looks
    assert not every.due()
    clock.advance(timedelta(seconds=4))
    assert not every.due()
    clock.advance(timedelta(seconds=1))
    assert every.due()
    clock.advance(timedelta(minutes=6))  # a test (or a long pause) moving time on
    assert every.due() and not every.due()
