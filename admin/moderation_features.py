"""The moderation feature's modules, in handler order, for `FEATURES` in the composition root."""

from __future__ import annotations

from types import ModuleType

from admin import case, moderation, moderation_stats, queue

MODULES: tuple[ModuleType, ...] = (case, queue, moderation_stats, moderation)
