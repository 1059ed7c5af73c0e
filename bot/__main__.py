"""`python -m bot`: run the bot, or one of the maintenance commands (`--help` lists them)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from bot.config import ConfigError, Settings, load_settings
from bot.logging_setup import configure_logging


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Hiwar: dialogue sessions, needs surveys and grievance reporting on Telegram.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="run the bot (the default; polling, or webhook if set)")
    commands.add_parser("migrate", help="apply database migrations and exit")
    return parser


async def _migrate(settings: Settings) -> None:
    from storage.database import Database
    from storage.migrate import upgrade_database

    database = Database(settings.database_url)
    try:
        await upgrade_database(database)
    finally:
        await database.dispose()


async def _run(settings: Settings) -> None:
    from bot.runtime.application import HiwarRuntime, tuning_from_environment

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    tuning = tuning_from_environment(settings.extra)
    await HiwarRuntime(settings, tuning=tuning).run_until(stop)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"hiwar: configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings)
    command = args.command or "run"
    try:
        if command == "migrate":
            asyncio.run(_migrate(settings))
            print("database is up to date")
        elif command == "run":
            settings.require_token()
            asyncio.run(_run(settings))
    except ConfigError as error:
        print(f"hiwar: configuration error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    logging.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
