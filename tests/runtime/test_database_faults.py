"""PostgreSQL restarted during load (issue 9): the bot recovers by itself, loses nothing
committed, and handles the updates that arrived meanwhile once it is back.

The test runs its own throwaway PostgreSQL server (tests/support/private_postgres.py) and
stops, crashes and restarts that one, so the machine's shared server and its other users are
never disturbed. Members keep writing all the time: before, during and after the outage.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from storage.database import Database
from storage.errors import is_database_unavailable
from storage.models import InboxUpdate
from tests.fake_telegram import FakeBotApi, SimulatedUser, TgUser
from tests.support.effects import Effect, duplicates, out_of_order_chats, recorded_effects
from tests.support.harness import BotProcess
from tests.support.private_postgres import (
    PrivatePostgres,
    missing_reason,
    start_private_postgres,
)

USERS = 10
ROUND_SECONDS = 0.15  # every member sends one update per round
STARTUP_SECONDS = 60
RECOVERY_SECONDS = 120
OUTAGE_SECONDS = 4.0


@pytest.fixture
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    reason = missing_reason()
    if reason is not None:
        pytest.skip(f"database-fault test skipped: {reason}")
    server = await start_private_postgres()
    try:
        yield server
    finally:
        await asyncio.to_thread(server.cleanup)


class Members:
    """Members writing `/effect SEQ` in rounds, in the background, until stopped."""

    def __init__(self, api: FakeBotApi) -> None:
        self.users = [SimulatedUser(api, TgUser(33_000 + n, f"P{n}")) for n in range(USERS)]
        self.sent: list[int] = []
        self.sent_while_down: list[int] = []
        self.database_down = False
        self._seq = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._write())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    async def _write(self) -> None:
        while not self._stop.is_set():
            for user in self.users:
                update_id = user.command(f"/effect {self._seq}")
                self.sent.append(update_id)
                if self.database_down:
                    self.sent_while_down.append(update_id)
            self._seq += 1
            await asyncio.sleep(ROUND_SECONDS)


async def effects_so_far(database: Database) -> list[Effect]:
    try:
        return await recorded_effects(database)
    except Exception:  # tables not created yet, or the test's own connections were cut
        await database.dispose()
        return []


async def fast_restart(server: PrivatePostgres, members: Members) -> None:
    """`pg_ctl restart -m fast`: every session is ended, the server comes straight back."""
    members.database_down = True
    await asyncio.to_thread(server.restart, "fast")
    members.database_down = False


async def crash_with_outage(server: PrivatePostgres, members: Members) -> None:
    """`pg_ctl stop -m immediate` (a crash: transactions in flight are cut), several seconds
    down while members keep writing, then a start that runs crash recovery."""
    members.database_down = True
    await asyncio.to_thread(server.stop_server, "immediate")
    await asyncio.sleep(OUTAGE_SECONDS)
    await asyncio.to_thread(server.start_server)
    members.database_down = False


async def slow_start(server: PrivatePostgres, members: Members) -> None:
    """Stopped, then several seconds running but answering every connection "not accepting
    connections" (SQLSTATE 57P03, as while a big database starts up or recovers)."""
    members.database_down = True
    await asyncio.to_thread(server.stop_server, "fast")
    await asyncio.to_thread(server.start_refusing_connections)
    await asyncio.sleep(OUTAGE_SECONDS)
    await asyncio.to_thread(server.promote)
    members.database_down = False


SCENARIOS: dict[str, Callable[[PrivatePostgres, Members], Awaitable[None]]] = {
    "fast_restart": fast_restart,
    "crash_with_outage": crash_with_outage,
    "slow_start": slow_start,
}


@pytest.mark.chaos
@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_postgresql_restart_during_load_loses_nothing(
    fake_api: FakeBotApi, tmp_path: Path, private_postgres: PrivatePostgres, scenario: str
) -> None:
    url = private_postgres.url
    process = BotProcess(fake_api, url, tmp_path / "bot.log", HIWAR_TEST_EFFECT_DELAY="0.02")
    process.start()
    database = Database(url, pool_size=2)
    members = Members(fake_api)
    loop = asyncio.get_running_loop()
    try:
        members.start()
        # Under load: the bot is up and handling updates when the database goes away.
        deadline = loop.time() + STARTUP_SECONDS
        while len(await effects_so_far(database)) < 2 * USERS:
            assert loop.time() < deadline, f"bot not handling updates\n{process.log()[-4000:]}"
            assert process.process is not None and process.process.poll() is None, process.log()
            await asyncio.sleep(0.1)
        handled_before = len(await effects_so_far(database))
        await SCENARIOS[scenario](private_postgres, members)
        back = time.monotonic()
        await asyncio.sleep(1.5)  # members keep writing while the bot reconnects
        await members.stop()

        deadline = loop.time() + RECOVERY_SECONDS
        while len(effects := await effects_so_far(database)) < len(members.sent):
            assert loop.time() < deadline, (
                f"{scenario}: {len(effects)} of {len(members.sent)} updates handled "
                f"{RECOVERY_SECONDS} s after the database came back\n{process.log()[-4000:]}"
            )
            await asyncio.sleep(0.3)
        recovered = time.monotonic() - back
        await asyncio.sleep(1.0)  # anything handled twice would show up by now

        effects = await recorded_effects(database)
        assert sorted(e.update_id for e in effects) == sorted(members.sent)
        assert duplicates(effects) == {}
        assert out_of_order_chats(effects) == []
        if scenario != "fast_restart":  # (all handled: they are in `members.sent`)
            assert len(members.sent_while_down) >= USERS * int(OUTAGE_SECONDS / ROUND_SECONDS / 2)
        async with database.unit_of_work(read_only=True) as uow:
            rows = await uow.session.execute(
                select(InboxUpdate.status, func.count()).group_by(InboxUpdate.status)
            )
            statuses = {status: count for status, count in rows.tuples()}
        assert statuses == {"done": len(members.sent)}, statuses
        for user in members.users:  # replies: none twice, none out of order
            replies = [
                int(m.text.split()[1])
                for m in fake_api.messages_to(user.chat_id)
                if m.text and m.text.startswith("effect ")
            ]
            assert replies == sorted(set(replies)), (user.chat_id, replies)
        assert process.process is not None and process.process.poll() is None, "bot still up"
        print(
            f"\n{scenario}: {len(members.sent)} updates ({handled_before} handled before, "
            f"{len(members.sent_while_down)} sent while down); all handled "
            f"{recovered:.1f} s after the database was back"
        )
    finally:
        await members.stop()
        process.terminate()
        await database.dispose()


@pytest.mark.chaos
async def test_bot_started_while_postgresql_starts_up_waits_for_it(
    fake_api: FakeBotApi, tmp_path: Path, private_postgres: PrivatePostgres
) -> None:
    """A bot started while PostgreSQL is still starting up (or restarting) waits for it
    instead of exiting, then handles every update sent meanwhile."""
    await asyncio.to_thread(private_postgres.stop_server, "fast")
    await asyncio.to_thread(private_postgres.start_refusing_connections)
    process = BotProcess(fake_api, private_postgres.url, tmp_path / "bot.log")
    database = Database(private_postgres.url, pool_size=2)
    members = Members(fake_api)
    loop = asyncio.get_running_loop()
    try:
        members.database_down = True
        members.start()
        process.start()
        deadline = loop.time() + STARTUP_SECONDS
        while "database unavailable at start" not in process.log():
            assert loop.time() < deadline, process.log()[-4000:]
            assert process.process.poll() is None, f"bot exited\n{process.log()[-4000:]}"
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # a few attempts refused
        assert process.process is not None and process.process.poll() is None, process.log()
        await asyncio.to_thread(private_postgres.promote)
        members.database_down = False
        await asyncio.sleep(1.0)
        await members.stop()
        deadline = loop.time() + RECOVERY_SECONDS
        while len(effects := await effects_so_far(database)) < len(members.sent):
            assert loop.time() < deadline, (
                f"{len(effects)} of {len(members.sent)} updates handled\n{process.log()[-4000:]}"
            )
            await asyncio.sleep(0.3)
        await asyncio.sleep(1.0)
        effects = await recorded_effects(database)
        assert sorted(e.update_id for e in effects) == sorted(members.sent)
        assert duplicates(effects) == {}
        assert out_of_order_chats(effects) == []
        assert members.sent_while_down
        assert process.process.poll() is None, "bot still up"
    finally:
        await members.stop()
        process.terminate()
        await database.dispose()


# is_database_unavailable on errors a real server gives: "retry later" for an outage, never
# for a bug (a bug's update is marked failed instead of being retried for ever).


@pytest.fixture
async def small_postgres() -> AsyncIterator[PrivatePostgres]:
    reason = missing_reason()
    if reason is not None:
        pytest.skip(f"database-fault test skipped: {reason}")
    server = await start_private_postgres(
        settings={"max_connections": "3", "superuser_reserved_connections": "0"}
    )
    try:
        yield server
    finally:
        await asyncio.to_thread(server.cleanup)


async def error_of(action: Awaitable[object]) -> BaseException:
    try:
        await action
    except Exception as error:
        return error
    raise AssertionError("no error")


async def run_sql(database: Database, statement: str) -> None:
    async with database.unit_of_work() as uow:
        await uow.session.execute(text(statement))
        await uow.commit()


async def wait_for_backend(admin: asyncpg.Connection, pid: int, *, state: str | None) -> None:
    """Until backend `pid` is in `state` (None: until it is gone)."""
    while True:
        found = await admin.fetchval("SELECT state FROM pg_stat_activity WHERE pid = $1", pid)
        if found == state:
            return
        await asyncio.sleep(0.02)


async def test_no_free_connection_slot_means_retry_later(small_postgres: PrivatePostgres) -> None:
    held = [await asyncpg.connect(small_postgres.dsn) for _ in range(3)]
    database = Database(small_postgres.url, pool_size=1)
    try:
        error = await error_of(run_sql(database, "SELECT 1"))
        assert isinstance(error, asyncpg.TooManyConnectionsError), repr(error)
        assert is_database_unavailable(error)
        await held.pop().close()
        await run_sql(database, "SELECT 1")  # a slot is free again: the same pool connects
    finally:
        for connection in held:
            await connection.close()
        await database.dispose()


async def test_server_starting_up_or_stopped_means_retry_later(
    small_postgres: PrivatePostgres,
) -> None:
    database = Database(small_postgres.url, pool_size=1)
    try:
        await run_sql(database, "SELECT 1")  # a pooled connection, cut by the stop
        await asyncio.to_thread(small_postgres.stop_server, "fast")
        # No ping at checkout: the cut connection fails its first statement (retry later),
        # and the pool lets it go; the next try connects anew and is refused.
        cut = await error_of(run_sql(database, "SELECT 1"))
        assert isinstance(cut, DBAPIError) and cut.connection_invalidated, repr(cut)
        assert is_database_unavailable(cut)
        refused = await error_of(run_sql(database, "SELECT 1"))
        assert isinstance(refused, ConnectionRefusedError), repr(refused)
        assert is_database_unavailable(refused)

        await asyncio.to_thread(small_postgres.start_refusing_connections)
        starting = await error_of(run_sql(database, "SELECT 1"))
        assert isinstance(starting, asyncpg.CannotConnectNowError), repr(starting)
        assert is_database_unavailable(starting)

        await asyncio.to_thread(small_postgres.promote)
        await run_sql(database, "SELECT 1")
    finally:
        await database.dispose()


async def test_session_ended_by_the_server_means_retry_later(
    small_postgres: PrivatePostgres,
) -> None:
    database = Database(small_postgres.url, pool_size=1)
    admin = await asyncpg.connect(small_postgres.dsn)

    async def cut_between_statements() -> None:
        async with database.unit_of_work() as uow:
            pid = await uow.session.scalar(text("SELECT pg_backend_pid()"))
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
            await wait_for_backend(admin, pid, state=None)
            await uow.session.execute(text("SELECT 1"))
            await uow.commit()

    async def cut_during_statement() -> None:
        async with database.unit_of_work() as uow:
            pid = await uow.session.scalar(text("SELECT pg_backend_pid()"))

            async def terminate() -> None:
                await wait_for_backend(admin, pid, state="active")
                await admin.execute("SELECT pg_terminate_backend($1)", pid)

            terminating = asyncio.create_task(terminate())
            try:
                await uow.session.execute(text("SELECT pg_sleep(60)"))
            finally:
                await terminating

    try:
        for cut in (cut_between_statements, cut_during_statement):
            error = await error_of(cut())
            assert is_database_unavailable(error), (cut.__name__, repr(error))
            await run_sql(database, "SELECT 1")  # the pool replaces the lost connection
    finally:
        await admin.close()
        await database.dispose()


async def test_bugs_do_not_mean_retry_later(small_postgres: PrivatePostgres) -> None:
    database = Database(small_postgres.url, pool_size=1)
    try:
        await run_sql(database, "CREATE TABLE t (id integer PRIMARY KEY)")
        await run_sql(database, "INSERT INTO t VALUES (1)")
        for statement in (
            "INSERT INTO t VALUES (1)",  # unique violation
            "SELECT no_such_column FROM t",
            "SELECT 1 / 0",
            "SELECT 'x'::integer",
        ):
            error = await error_of(run_sql(database, statement))
            assert not is_database_unavailable(error), (statement, repr(error))
    finally:
        await database.dispose()
