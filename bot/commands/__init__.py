"""Subcommands of `python -m bot`. Each module defines NAME, HELP, `add_arguments(parser)` and
`async run(settings, args) -> int`; list new modules in `COMMANDS` (the order of `--help`)."""

from __future__ import annotations

from types import ModuleType

from bot.commands import migrate, run

COMMANDS: tuple[ModuleType, ...] = (run, migrate)
