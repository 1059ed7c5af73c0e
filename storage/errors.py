"""Telling a database that is down or busy (retry later) from a bug (do not retry)."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc


def is_database_unavailable(error: BaseException) -> bool:
    """True for lost connections, refused connections, pool time-outs and a locked SQLite."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, sa_exc.OperationalError | sa_exc.InterfaceError):
            return True
        if isinstance(current, sa_exc.TimeoutError):
            return True
        if isinstance(current, ConnectionError | OSError) and not isinstance(
            current, FileNotFoundError | PermissionError
        ):
            return True
        name = type(current).__name__
        if name in {
            "ConnectionDoesNotExistError",
            "CannotConnectNowError",
            "ConnectionFailureError",
            "InterfaceError",
            "AdminShutdownError",
            "CrashShutdownError",
        }:
            return True
        current = current.__cause__ or current.__context__
    return False
