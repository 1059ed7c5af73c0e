"""SQLAlchemy's aiosqlite adapter with one trip to the driver's thread per statement.

aiosqlite runs every sqlite3 call on a worker thread and hands each result back to the event
loop. SQLAlchemy's adapter makes four such trips per statement (open a cursor, execute,
fetch the rows, close the cursor), each a future, a queue hand-off, a thread wake-up and an
event-loop wake-up: on a member's input, with a dozen statements, those hand-offs were most
of the CPU the bot spent (bench/throughput.py, profiled with py-spy). Here the four run as
one function on the worker thread, so a statement costs one trip; what SQLite does, and
every error it raises, is unchanged. Server-side cursors (streamed results) keep
SQLAlchemy's own cursor.

Built on aiosqlite's `Connection._execute` (queue a function for its thread) and `_conn`
(its sqlite3 connection), which SQLAlchemy's adapter itself uses for the isolation level.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)

_Outcome = tuple[Any, list[Any], int, int]  # description, rows, lastrowid, rowcount


def _execute_on_worker(
    connection: sqlite3.Connection, operation: str, parameters: Any, many: bool
) -> _Outcome:
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        if cursor.description:
            return cursor.description, cursor.fetchall(), -1, -1
        return None, [], cursor.lastrowid or 0, cursor.rowcount
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def _run(self, operation: Any, parameters: Any, many: bool) -> None:
        try:
            driver: aiosqlite.Connection = self._connection  # type: ignore[assignment]
            outcome: _Outcome = self.await_(
                driver._execute(  # type: ignore[no-untyped-call]
                    _execute_on_worker, driver._conn, operation, parameters, many
                )
            )
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        description, rows, lastrowid, rowcount = outcome
        self.description = description
        self.lastrowid = lastrowid
        self.rowcount = rowcount
        self._rows = deque(rows)

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._run(operation, parameters, False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        self._run(operation, seq_of_parameters, True)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        if server_side:
            return super().cursor(server_side=True)
        return OneTripCursor(self)


class OneTripDbapi(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module to give `create_async_engine(..., module=...)` for aiosqlite."""

    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        adapted = super().connect(*arg, **kw)
        if type(adapted) is AsyncAdapt_aiosqlite_connection:
            return OneTripConnection(self, adapted._connection)
        return adapted  # the synchronous fallback (not used by Hiwar) keeps its own


def one_trip_dbapi() -> OneTripDbapi:
    return OneTripDbapi(aiosqlite, sqlite3)
