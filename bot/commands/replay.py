"""`python -m bot replay UPDATE_ID`: hand a failed update to the bot again.

The update goes back to its chat's queue; the running bot (or the next start) handles it
as if it had just arrived, after the chat's pending updates that are due.
"""

from __future__ import annotations

import argparse

from bot.clock import SystemClock
from bot.config import Settings
from bot.engines.numbers import parse_integer
from storage import inbox
from storage.database import Database
from storage.migrate import upgrade_database

NAME = "replay"
HELP = "retry a failed update (see: python -m bot failed)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("update_id", help="the update's id, as `failed` lists it")


async def run(settings: Settings, args: argparse.Namespace) -> int:
    update_id = parse_integer(str(args.update_id)[:32])
    if update_id is None:
        print(f"hiwar: not an update id: {args.update_id!r}")
        return 2
    database = Database(settings.database_url, pool_size=1)
    try:
        await upgrade_database(database)
        async with database.unit_of_work() as uow:
            found = await inbox.replay_failed(uow.session, update_id, SystemClock().now())
            await uow.commit()
    finally:
        await database.dispose()
    if not found:
        print(f"hiwar: no failed update {update_id} (python -m bot failed lists them)")
        return 1
    print(f"update {update_id} is queued again; the bot handles it shortly")
    return 0
