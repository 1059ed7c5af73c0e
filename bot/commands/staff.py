"""`python -m bot staff`: list staff members and their roles."""

from __future__ import annotations

import argparse

from bot.commands.roles import print_staff
from bot.config import Settings

NAME = "staff"
HELP = "list staff members and their roles"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    return None


async def run(settings: Settings, args: argparse.Namespace) -> int:
    return await print_staff(settings)
