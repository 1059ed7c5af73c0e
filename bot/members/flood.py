"""Flood control per member (SPEC §7): a burst of messages is answered once, politely.

A burst is a run of messages the member sent one after another without waiting for the
bot: their message ids are consecutive (a private chat numbers the member's and the bot's
messages in one sequence, so any answer in between breaks the run). Once such a run holds
more than `max_messages` sent within `window_seconds`, the first message over the limit gets
one "please slow down" and later ones get no replies until the burst is over; every message
is still handled, so nothing typed into a flow is lost. Someone who waits for each answer,
however fast they type, is never treated as a flood.

The window is kept in memory on purpose: it only decides whether to *reply*, never whether
to handle, so losing it on a restart (or counting per instance when several run) costs at
most a few extra replies. Updates of one chat are handled by one instance at a time, in
order, so the count of one instance is the member's real pace. Times are the moments the
member sent the messages (Telegram's `date`), so a backlog handled after a restart is not
mistaken for a flood.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_MAX_MESSAGES = 8
DEFAULT_WINDOW_SECONDS = 10.0
_SWEEP_EVERY = 1000


@dataclass(frozen=True)
class FloodPolicy:
    max_messages: int = DEFAULT_MAX_MESSAGES
    window_seconds: float = DEFAULT_WINDOW_SECONDS


def policy_from_settings(extra: Mapping[str, str]) -> FloodPolicy:
    """HIWAR_FLOOD_MESSAGES and HIWAR_FLOOD_SECONDS; malformed values fall back to defaults."""
    try:
        messages = int(extra.get("HIWAR_FLOOD_MESSAGES", DEFAULT_MAX_MESSAGES))
    except ValueError:
        messages = DEFAULT_MAX_MESSAGES
    try:
        seconds = float(extra.get("HIWAR_FLOOD_SECONDS", DEFAULT_WINDOW_SECONDS))
    except ValueError:
        seconds = DEFAULT_WINDOW_SECONDS
    return FloodPolicy(max(messages, 1), seconds if seconds > 0 else DEFAULT_WINDOW_SECONDS)


class FloodVerdict(StrEnum):
    ALLOW = "allow"  # reply as usual
    WARN = "warn"  # the first message over the limit: say "please slow down" once
    QUIET = "quiet"  # still over the limit: handle the message, but send no replies


@dataclass
class _Window:
    times: deque[float]
    last_message_id: int = 0
    warned: bool = False
    warning_id: int | None = None  # our "slow down" message does not break the run

    def follows_directly(self, message_id: int) -> bool:
        gap = message_id - self.last_message_id - 1
        return gap == 0 or (gap == 1 and self.warning_id == self.last_message_id + 1)


class FloodGate:
    """Sliding windows of recent message times, per member."""

    def __init__(self, policy: FloodPolicy) -> None:
        self.policy = policy
        self._windows: dict[int, _Window] = {}
        self._checks = 0

    def check(self, user_id: int, at: float, message_id: int) -> FloodVerdict:
        """Count a message of `user_id` sent at `at` (seconds) and say how to answer it."""
        self._checks += 1
        if self._checks % _SWEEP_EVERY == 0:
            self._sweep(at)
        window = self._windows.setdefault(user_id, _Window(deque()))
        if not window.follows_directly(message_id):
            window.times.clear()  # the bot answered in between: a new run
        window.last_message_id = message_id
        horizon = at - self.policy.window_seconds
        while window.times and window.times[0] <= horizon:
            window.times.popleft()
        window.times.append(at)
        if len(window.times) <= self.policy.max_messages:
            window.warned = False
            return FloodVerdict.ALLOW
        if window.warned:
            return FloodVerdict.QUIET
        window.warned = True
        return FloodVerdict.WARN

    def note_warning(self, user_id: int, message_id: int) -> None:
        """Remember the id of the "slow down" message we sent, so it does not end the run."""
        window = self._windows.get(user_id)
        if window is not None:
            window.warning_id = message_id

    def _sweep(self, now: float) -> None:
        """Forget members who have been quiet for a whole window (bounded memory)."""
        horizon = now - self.policy.window_seconds
        idle = [uid for uid, w in self._windows.items() if not w.times or w.times[-1] <= horizon]
        for user_id in idle:
            del self._windows[user_id]

    def tracked_members(self) -> int:
        return len(self._windows)
