"""Subcommands of `python -m bot`. Each module defines NAME, HELP, `add_arguments(parser)` and
`async run(settings, args) -> int`; list new modules in `COMMANDS` (the order of `--help`)."""

from __future__ import annotations

from types import ModuleType

from bot.commands import (
    demo_data,
    failed,
    grant,
    import_sessions,
    migrate,
    new_key,
    replay,
    revoke,
    rotate_key,
    run,
    staff,
)
from bot.commands import import_survey as survey_import

COMMANDS: tuple[ModuleType, ...] = (
    run,
    migrate,
    grant,
    revoke,
    staff,
    import_sessions,
    rotate_key,
    new_key,
    survey_import,
    demo_data,
    failed,
    replay,
)
