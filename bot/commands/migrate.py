"""`python -m bot migrate`: apply the database migrations and exit."""

from __future__ import annotations

import argparse

from bot.config import Settings
from storage.database import Database
from storage.migrate import upgrade_database

NAME = "migrate"
HELP = "apply database migrations and exit (the bot also does this at start-up)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    return None


async def run(settings: Settings, args: argparse.Namespace) -> int:
    database = Database(settings.database_url)
    try:
        await upgrade_database(database)
    finally:
        await database.dispose()
    print("database is up to date")
    return 0
