"""The source of the current time, injectable so tests can move time forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (tests and the demo seeder)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, moment: datetime) -> None:
        self._now = moment


class OffsetClock:
    """System time shifted by an offset that can be changed (end-to-end tests of reminders)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


class Every:
    """True at most once per `period` on `clock` (the first time asked: True).

    For housekeeping that need not run on every poll, such as releasing expired claims."""

    def __init__(self, clock: Clock, period: timedelta) -> None:
        self.clock = clock
        self.period = period
        self._last: datetime | None = None

    def due(self) -> bool:
        now = self.clock.now()
        if self._last is not None and now - self._last < self.period:
            return False
        self._last = now
        return True
