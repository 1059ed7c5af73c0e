"""`python -m bot`: run the bot, or one of the maintenance commands (`--help` lists them)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Coroutine, Sequence
from typing import Any

from bot.commands import COMMANDS
from bot.config import ConfigError, load_settings
from bot.logging_setup import configure_logging


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Hiwar: dialogue sessions, needs surveys and grievance reporting on Telegram."
        " Settings come from the environment and a .env file (see README).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_arguments(commands.add_parser(command.NAME, help=command.HELP))
    return parser


def run_async(coroutine: Coroutine[Any, Any, int]) -> int:
    """Run on uvloop where it is installed (Linux, macOS): the event loop's own work (tasks,
    wake-ups, the database driver's thread hand-offs) was about a third of the CPU per
    member's input on asyncio's default loop (bench/throughput.py, profiled with py-spy).
    HIWAR_EVENT_LOOP=asyncio keeps the default loop."""
    if os.environ.get("HIWAR_EVENT_LOOP", "uvloop") != "asyncio":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return int(uvloop.run(coroutine))
    return int(asyncio.run(coroutine))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    name = args.command or "run"
    command = next(c for c in COMMANDS if name == c.NAME)
    if not getattr(command, "NEEDS_SETTINGS", True):
        return run_async(command.run(None, args))
    try:
        settings = load_settings()
        configure_logging(settings)
        code = run_async(command.run(settings, args))
    except ConfigError as error:
        print(f"hiwar: configuration error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        logging.shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
