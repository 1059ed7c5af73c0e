"""Engine set-up for SQLite and PostgreSQL, and the unit of work.

SQLite runs in WAL mode with a busy timeout, and every transaction that may write starts with
`BEGIN IMMEDIATE`, so two handlers writing at once wait for each other instead of one of them
failing or losing an update (SPEC §1.3). Within one process those writers queue on an asyncio
lock first, so the next one starts the moment the previous one ends (SQLite's own busy
handler polls with sleeps of up to 100 ms); other processes still meet the busy timeout.
A read-only unit of work (`unit_of_work(read_only=True)`) starts with a plain `BEGIN`: in WAL
mode it reads a consistent snapshot without taking or waiting for the write lock, and it
cannot commit.

`Database.hold_transaction()` makes everything done in its block one transaction (the inbox
processor holds one per update): the first unit of work opened inside it begins the real
transaction, and a unit of work inside it commits into it, or, leaving without a commit,
undoes only its own work. The holder commits once at the end, so an update's effects, its
replies and its inbox mark commit together or not at all.

A unit of work inside a held transaction is not a savepoint at first: a SAVEPOINT and its
RELEASE cost about as much as the rest of a member's input put together, and almost every
unit either commits or wrote nothing. One that leaves without a commit after writing
(`do_orm_execute` of anything but a SELECT, or a flush, counted on the session) cannot be
undone alone: the held transaction is marked `needs_savepoints` and can no longer commit; its
holder rolls it all back and runs the block again with `hold_transaction(savepoints=True)`,
where every unit of work is a savepoint.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    AsyncSessionTransaction,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session

from storage.sqlite_driver import one_trip_dbapi

SQLITE_BUSY_TIMEOUT_SECONDS = 30
READ_ONLY = "hiwar_read_only"  # execution option of the connections of read-only units


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """Create the async engine for `url`, with the SQLite settings of SPEC §1.3."""
    if url.startswith("sqlite"):
        _prepare_sqlite_file(url)
        engine = create_async_engine(
            url,
            module=one_trip_dbapi(),
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=120,
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the driver, decide where transactions begin.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # Deleted or overwritten rows are zeroed, so erased text does not linger on disk.
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Any) -> None:
            read_only = connection.get_execution_options().get(READ_ONLY, False)
            connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    # No ping at every checkout (a round trip per transaction, about 0.2 ms of CPU each):
    # a connection the server dropped fails its first statement, SQLAlchemy then discards
    # every pooled connection as old as it, and the caller's retry (every writer here
    # treats a lost database as transient) gets a new one.
    return create_async_engine(url, pool_size=pool_size, max_overflow=5, pool_timeout=120)


WRITES = "hiwar_writes"  # Session.info: statements run that may have written


class CountingSession(Session):
    """A session that counts what may have written (for units of work inside a held
    transaction, which are savepoints only when one must be undone alone)."""


@event.listens_for(CountingSession, "do_orm_execute")
def _count_statement(state: ORMExecuteState) -> None:
    if not state.is_select:
        state.session.info[WRITES] = state.session.info.get(WRITES, 0) + 1


@event.listens_for(CountingSession, "after_flush")
def _count_flush(session: Session, _context: Any) -> None:
    session.info[WRITES] = session.info.get(WRITES, 0) + 1


def _writes(session: AsyncSession) -> int:
    sync = session.sync_session
    return int(sync.info.get(WRITES, 0)) + len(sync.new) + len(sync.dirty) + len(sync.deleted)


class SavepointsNeeded(Exception):
    """A unit of work inside a held transaction left without a commit after writing: the
    held transaction must be run again with savepoints (`hold_transaction(savepoints=True)`)."""


class Database:
    """The engine and session factory; one per process."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size)
        self.sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=CountingSession
        )
        self.read_sessions = async_sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )
        self._writers = WriterQueue() if url.startswith("sqlite") else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        """A transaction; `read_only=True` for reads (no write lock on SQLite, no commit).

        Inside `hold_transaction()` it is a savepoint of the held transaction (a read-only
        one only once the held transaction has begun: until then there is nothing of its
        own to see, and a read need not take the write lock)."""
        held = _HELD.get()
        if held is not None and held.database is self and (not read_only or held.is_open):
            return SavepointUnitOfWork(held, read_only=read_only)
        if read_only:
            return UnitOfWork(self.read_sessions, read_only=True)
        return UnitOfWork(self.sessions, writers=self._writers)

    @contextlib.asynccontextmanager
    async def hold_transaction(
        self, *, savepoints: bool = False
    ) -> AsyncIterator[HeldTransaction]:
        """One transaction for the block: units of work inside it commit into it (each a
        savepoint with `savepoints=True`); call `commit()` on the result to commit it all
        (leaving without it rolls back)."""
        held = HeldTransaction(self, savepoints=savepoints)
        token = _HELD.set(held)
        try:
            yield held
        finally:
            _HELD.reset(token)
            await held.close()

    async def dispose(self) -> None:
        await self.engine.dispose()


AfterCommit = Callable[[], Awaitable[None] | None]
BeforeCommit = Callable[[AsyncSession], Awaitable[None]]


class WriterQueue:
    """This process's SQLite writers, one at a time, in arrival order.

    A task that already holds it (a unit of work opened inside another) passes straight
    through, and SQLite's busy timeout decides, as it would without the queue.
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None

    async def enter(self) -> bool:
        """Wait for our turn; False when this task already holds the queue."""
        task = asyncio.current_task()
        if task is not None and task is self._owner:
            return False
        await self._lock.acquire()
        self._owner = task
        return True

    def leave(self) -> None:
        self._owner = None
        self._lock.release()


class UnitOfWork:
    """One transaction. Rolls back on exit unless `commit()` was called.

    Repositories and services never commit; the caller that opened the unit of work does.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        read_only: bool = False,
        writers: WriterQueue | None = None,
    ) -> None:
        self._sessions = sessions
        self.read_only = read_only
        self._writers = writers
        self._queued = False
        self._session: AsyncSession | None = None
        self._after_commit: list[AfterCommit] = []
        self._before_commit: list[BeforeCommit] = []
        self.committed = False

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("the unit of work is not open; use `async with`")
        return self._session

    async def __aenter__(self) -> Self:
        if self._writers is not None:
            self._queued = await self._writers.enter()
        self._session = self._sessions()
        self.committed = False
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            if not self.committed:
                await session.rollback()
        finally:
            try:
                await session.close()
            finally:
                self._session = None
                self._leave_queue()

    def _leave_queue(self) -> None:
        if self._queued and self._writers is not None:
            self._queued = False
            self._writers.leave()

    def after_commit(self, callback: AfterCommit) -> None:
        """Run `callback` once this unit of work has committed (e.g. wake the sender)."""
        self._after_commit.append(callback)

    def before_commit(self, callback: BeforeCommit) -> None:
        """Run `callback` inside the transaction just before it commits."""
        self._before_commit.append(callback)

    async def commit(self) -> None:
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        for hook in self._before_commit:
            await hook(self.session)
        self._before_commit = []
        await self.session.commit()
        self.committed = True
        self._leave_queue()  # the transaction is over: the next writer may start
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            result = callback()
            if result is not None:
                await result

    async def flush(self) -> None:
        await self.session.flush()


class HeldTransaction:
    """The transaction of `Database.hold_transaction()`, begun by its first unit of work."""

    def __init__(self, database: Database, *, savepoints: bool = False) -> None:
        self.database = database
        self.savepoints = savepoints
        # A unit of work without a savepoint left without a commit after writing: this
        # transaction cannot commit; run the block again with savepoints.
        self.needs_savepoints = False
        self._outer: UnitOfWork | None = None
        self._after_commit: list[AfterCommit] = []
        self.committed = False

    @property
    def is_open(self) -> bool:
        return self._outer is not None

    async def begin(self) -> UnitOfWork:
        """The real transaction (begun now if no unit of work has begun it yet)."""
        if self._outer is None:
            outer = UnitOfWork(self.database.sessions, writers=self.database._writers)
            await outer.__aenter__()
            self._outer = outer
        return self._outer

    def after_commit(self, callback: AfterCommit) -> None:
        self._after_commit.append(callback)

    async def commit(self) -> None:
        if self.needs_savepoints:
            raise SavepointsNeeded("a unit of work inside it could not be undone alone")
        outer = await self.begin()
        for callback in self._after_commit:
            outer.after_commit(callback)
        self._after_commit = []
        await outer.commit()
        self.committed = True

    async def close(self) -> None:
        outer, self._outer = self._outer, None
        if outer is not None:
            await outer.__aexit__(None, None, None)


_HELD: ContextVar[HeldTransaction | None] = ContextVar("hiwar_held_transaction", default=None)


class SavepointUnitOfWork(UnitOfWork):
    """A unit of work inside a held transaction.

    With `savepoints` on the held transaction it is a savepoint of it: `commit()` releases
    the savepoint (its after-commit callbacks wait for the real commit), leaving without it
    rolls back to the savepoint, so only this unit's work is undone. Without, `commit()`
    only hands its callbacks on, and leaving without a commit after writing marks the held
    transaction `needs_savepoints` (and raises `SavepointsNeeded` unless an error is
    already on its way out).
    """

    def __init__(self, held: HeldTransaction, *, read_only: bool = False) -> None:
        super().__init__(held.database.sessions, read_only=read_only)
        self._held = held
        self._savepoint: AsyncSessionTransaction | None = None
        self._writes_before = 0

    async def __aenter__(self) -> Self:
        outer = await self._held.begin()
        self._session = outer.session
        self.committed = False
        if not self.read_only:
            if self._held.savepoints:
                self._savepoint = await self._session.begin_nested()
            else:
                self._writes_before = _writes(self._session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        savepoint, self._savepoint = self._savepoint, None
        session, self._session = self._session, None
        if self.read_only or self.committed or session is None:
            return
        if savepoint is not None:
            if savepoint.is_active:
                await savepoint.rollback()
            return
        if not self._held.savepoints and _writes(session) != self._writes_before:
            self._held.needs_savepoints = True
            if exc is None:
                raise SavepointsNeeded("a unit of work left without a commit after writing")

    async def commit(self) -> None:
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        for hook in self._before_commit:
            await hook(self.session)
        self._before_commit = []
        if self._savepoint is not None:
            await self._savepoint.commit()
        elif self._held.savepoints:
            raise RuntimeError("the unit of work is not open; use `async with`")
        else:
            await self.session.flush()  # as a savepoint's release would: errors show here
        self.committed = True
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            self._held.after_commit(callback)
