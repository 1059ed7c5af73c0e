"""Telling a database that is down or busy (retry later) from a bug (do not retry)."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

# PostgreSQL error codes (SQLSTATE) that mean "try again later", whichever class the driver
# or SQLAlchemy wraps them in: every connection exception (class 08) but a protocol
# violation, the server shutting down, crashed, starting up or recovering, an idle session
# ended, and no connection slot free (e.g. every client reconnecting after a restart).
RETRY_LATER_STATE_CLASSES = ("08",)
NOT_RETRY_LATER_STATES = frozenset({"08P01"})
RETRY_LATER_STATES = frozenset({"57P01", "57P02", "57P03", "57P05", "53300"})


def _sqlstate(error: BaseException) -> str | None:
    state = getattr(error, "sqlstate", None)
    return state if isinstance(state, str) else None


def is_retry_later_state(state: str) -> bool:
    if state in NOT_RETRY_LATER_STATES:
        return False
    return state in RETRY_LATER_STATES or state.startswith(RETRY_LATER_STATE_CLASSES)


def is_database_unavailable(error: BaseException) -> bool:
    """True for lost connections, refused connections, a server shutting down or starting
    up, no free connection slot, pool time-outs and a locked SQLite."""
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
        state = _sqlstate(current)
        if state is not None and is_retry_later_state(state):
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
