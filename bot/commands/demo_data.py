"""`python -m bot demo-data [--force]`: seed a training database (see `bot.demo.seeding`).

Refuses a database that already has members unless `--force`; prints what it seeded.
"""

from __future__ import annotations

import argparse

from bot.clock import SystemClock
from bot.config import Settings
from bot.demo.seeding import DEMO_MODERATOR_NAME, DatabaseHasMembers, seed_demo_data
from bot.engines import field_encryption
from bot.grievances.flow import GrievanceDesk
from bot.grievances.lexicon import default_lexicon
from bot.grievances.policy import policy_from
from messages import Catalogue
from storage.database import Database
from storage.migrate import upgrade_database

NAME = "demo-data"
HELP = "seed demo members, sessions, a survey with answers and ~50 reports to train moderators"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force",
        action="store_true",
        help="seed even though the database already has members (they stay; demo data is added)",
    )


def desk_for(settings: Settings) -> GrievanceDesk:
    return GrievanceDesk(
        catalogue=Catalogue(settings.timezone),
        cipher=field_encryption.configure(
            settings.data_key.reveal() if settings.data_key else None
        ),
        policy=policy_from(settings.extra),
        lexicon=default_lexicon(),
        moderator_chat_id=settings.moderator_chat_id,
        default_language=settings.default_language,
    )


async def run(settings: Settings, args: argparse.Namespace) -> int:
    database = Database(settings.database_url, pool_size=2)
    try:
        await upgrade_database(database)
        summary = await seed_demo_data(
            database, desk_for(settings), SystemClock().now(), force=args.force
        )
    except DatabaseHasMembers as refused:
        print(
            f"hiwar: this database already has {refused.members} members; demo data would mix"
            " with real people. Use an empty database, or add --force to seed anyway."
        )
        return 1
    finally:
        await database.dispose()
    print(
        f"demo data seeded: {summary.members} members, {summary.sessions} sessions,"
        f" survey {summary.survey_id} with {summary.responses} responses,"
        f" {summary.reports} reports ({summary.moved_along} moved along by"
        f" “{DEMO_MODERATOR_NAME}”). Grant yourself a role (python -m bot grant YOUR_ID"
        " moderator) and open /queue."
    )
    return 0
