"""`python -m bot run`: run the bot (polling, or webhook when WEBHOOK_URL is set)."""

from __future__ import annotations

import argparse
import asyncio
import signal

from bot.config import Settings

NAME = "run"
HELP = "run the bot (the default): polling, or webhook when WEBHOOK_URL is set"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    return None


async def run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.runtime.application import HiwarRuntime, tuning_from_environment

    settings.require_token()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    tuning = tuning_from_environment(settings.extra)
    await HiwarRuntime(settings, tuning=tuning).run_until(stop)
    return 0
