"""Role administration from the command line (SPEC §4.3), shared by `grant`, `revoke`, `staff`.

Changes are audited like the chat commands, with no actor (the operator at the console).
"""

from __future__ import annotations

import argparse

from bot.clock import SystemClock
from bot.config import Settings
from bot.engines.numbers import parse_integer
from bot.engines.roles import Role, UnknownRole, grant_role, list_staff, parse_role, revoke_role
from storage.database import Database
from storage.migrate import upgrade_database

ROLE_NAMES = ", ".join(role.value for role in Role)


def add_change_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("user_id", help="the Telegram user id (a number)")
    parser.add_argument("role", help=f"one of: {ROLE_NAMES}")


def parse_change(args: argparse.Namespace) -> tuple[int, Role] | str:
    """(user id, role), or the error to print."""
    user_id = parse_integer(str(args.user_id)[:32])
    if user_id is None or user_id <= 0:
        return f"not a Telegram user id: {args.user_id!r}"
    try:
        return user_id, parse_role(str(args.role))
    except UnknownRole:
        return f"unknown role {args.role!r}; roles: {ROLE_NAMES}"


async def change_role(settings: Settings, args: argparse.Namespace, *, grant: bool) -> int:
    parsed = parse_change(args)
    if isinstance(parsed, str):
        print(f"hiwar: {parsed}")
        return 2
    user_id, role = parsed
    database = Database(settings.database_url, pool_size=2)
    try:
        await upgrade_database(database)
        async with database.unit_of_work() as uow:
            change = grant_role if grant else revoke_role
            changed = await change(
                uow, actor_id=None, user_id=user_id, role=role, now=SystemClock().now()
            )
            await uow.commit()
    finally:
        await database.dispose()
    if grant:
        print(f"{user_id} is now {role.value}" if changed else f"{user_id} was already {role}")
    else:
        print(f"{user_id} is no longer {role.value}" if changed else f"{user_id} was not {role}")
    return 0


async def print_staff(settings: Settings) -> int:
    database = Database(settings.database_url, pool_size=2)
    try:
        await upgrade_database(database)
        async with database.unit_of_work() as uow:
            staff = await list_staff(uow)
    finally:
        await database.dispose()
    if not staff:
        print("no staff yet")
    for member in staff:
        print(f"{member.user_id}\t{', '.join(role.value for role in member.roles)}")
    return 0
