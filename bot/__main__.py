"""`python -m bot`: run the bot, or one of the maintenance commands (`--help` lists them)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    name = args.command or "run"
    command = next(c for c in COMMANDS if name == c.NAME)
    if not getattr(command, "NEEDS_SETTINGS", True):
        return int(asyncio.run(command.run(None, args)))
    try:
        settings = load_settings()
        configure_logging(settings)
        code: int = asyncio.run(command.run(settings, args))
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
