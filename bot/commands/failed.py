"""`python -m bot failed`: list the updates that ended in a fault, kept for a replay.

An update that failed (a fault in our code, or a permanent refusal by Telegram) keeps its
input, sealed with DATA_KEY, for HIWAR_FAILED_UPDATE_DAYS (14) days; `replay ID` tries one
again. Only the kind of update is shown, never what the member sent.
"""

from __future__ import annotations

import argparse

from bot.config import Settings
from storage import inbox, sealing
from storage.database import Database
from storage.migrate import upgrade_database

NAME = "failed"
HELP = "list updates that failed (kept sealed for a replay: python -m bot replay ID)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    return None


async def run(settings: Settings, args: argparse.Namespace) -> int:
    sealing.configure(settings.data_key.reveal() if settings.data_key else None)
    database = Database(settings.database_url, pool_size=1)
    try:
        await upgrade_database(database)
        async with database.unit_of_work(read_only=True) as uow:
            failed = await inbox.failed_updates(uow.session)
    finally:
        await database.dispose()
    if not failed:
        print("no failed updates")
        return 0
    for item in failed:
        when = item.failed_at.isoformat(timespec="seconds") if item.failed_at else "-"
        print(f"{item.update_id}\t{when}\t{item.kind}\t{item.error or '-'}")
    print(f"{len(failed)} failed; retry one with: python -m bot replay ID")
    return 0
