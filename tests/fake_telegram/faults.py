"""Fault injection and flood control for the fake Bot API.

:class:`FaultPlan` holds queued one-shot failures (``FakeBotApi.fail_next``);
:class:`SlidingWindowLimiter` implements the optional messages-per-second limits. Neither class
locks: the server calls them while holding its own lock.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from .errors import BotApiError


@dataclass
class FaultRule:
    """A queued failure for calls to ``method`` (optionally only for one chat)."""

    method: str
    status: int
    chat_id: int | None
    retry_after: int | None
    remaining: int
    description: str | None

    def matches(self, method: str, chat_id: int | None) -> bool:
        """Whether a call to ``method`` for ``chat_id`` triggers this rule."""
        if self.method != method:
            return False
        return self.chat_id is None or self.chat_id == chat_id

    def error(self) -> BotApiError:
        """The error response this rule produces."""
        return BotApiError.for_status(
            self.status, retry_after=self.retry_after, description=self.description
        )


class FaultPlan:
    """Queued failure rules, consumed in insertion order by matching calls."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        """Queue ``rule`` after the rules already queued."""
        if rule.remaining < 1:
            raise ValueError("a fault rule must fire at least once")
        self._rules.append(rule)

    def consume(self, method: str, chat_id: int | None) -> BotApiError | None:
        """Return the error of the first matching rule (using up one firing), if any."""
        for rule in self._rules:
            if rule.matches(method, chat_id):
                rule.remaining -= 1
                if rule.remaining == 0:
                    self._rules.remove(rule)
                return rule.error()
        return None

    def pending(self) -> list[FaultRule]:
        """Rules that have not been used up yet."""
        return list(self._rules)

    def clear(self) -> None:
        """Drop all queued rules."""
        self._rules.clear()


class SlidingWindowLimiter:
    """Accept at most ``floor(messages_per_second)`` (minimum 1) events per sliding second."""

    WINDOW_SECONDS = 1.0

    def __init__(self, messages_per_second: float) -> None:
        if messages_per_second <= 0:
            raise ValueError("messages_per_second must be positive")
        self.capacity = max(1, math.floor(messages_per_second))
        self._accepted: deque[float] = deque()

    def try_acquire(self, now: float) -> bool:
        """Record an event at ``now`` if within the limit; return whether it was accepted."""
        while self._accepted and now - self._accepted[0] >= self.WINDOW_SECONDS:
            self._accepted.popleft()
        if len(self._accepted) >= self.capacity:
            return False
        self._accepted.append(now)
        return True
