"""Engine set-up for SQLite and PostgreSQL, and the unit of work.

SQLite runs in WAL mode with a busy timeout, and every transaction that may write starts with
`BEGIN IMMEDIATE`, so two handlers writing at once wait for each other instead of one of them
failing or losing an update (SPEC §1.3). Within one process those writers queue on an asyncio
lock first, so the next one starts the moment the previous one ends (SQLite's own busy
handler polls with sleeps of up to 100 ms); other processes still meet the busy timeout.
A read-only unit of work (`unit_of_work(read_only=True)`) starts with a plain `BEGIN`: in WAL
mode it reads a consistent snapshot without taking or waiting for the write lock, and it
cannot commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

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
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=5, pool_pre_ping=True, pool_timeout=120
    )


class Database:
    """The engine and session factory; one per process."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
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
        """A transaction; `read_only=True` for reads (no write lock on SQLite, no commit)."""
        if read_only:
            return UnitOfWork(self.read_sessions, read_only=True)
        return UnitOfWork(self.sessions, writers=self._writers)

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
