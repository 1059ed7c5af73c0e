"""`python -m bot revoke USER_ID ROLE`: take a staff role from a user (audited)."""

from __future__ import annotations

import argparse

from bot.commands.roles import add_change_arguments, change_role
from bot.config import Settings

NAME = "revoke"
HELP = "take a staff role from a user"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_change_arguments(parser)


async def run(settings: Settings, args: argparse.Namespace) -> int:
    return await change_role(settings, args, grant=False)
