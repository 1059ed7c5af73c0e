"""`python -m bot new-key`: print a new random DATA_KEY (needs no other setting)."""

from __future__ import annotations

import argparse

from bot.config import Settings
from storage.sealing import new_key

NAME = "new-key"
HELP = "print a new random key for DATA_KEY (or NEW_DATA_KEY when rotating)"
NEEDS_SETTINGS = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options


def generate() -> str:
    return new_key()


async def run(settings: Settings | None, args: argparse.Namespace) -> int:
    del settings, args
    print(generate())
    return 0
