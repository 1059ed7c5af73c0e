"""Entry point for child-process tests: the real bot plus the test-only effect feature."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from bot.config import load_settings
from bot.logging_setup import configure_logging
from bot.runtime.application import FEATURES, HiwarRuntime, tuning_from_environment
from tests.support import effect_feature


def dump_tasks() -> None:
    """SIGUSR1: print every asyncio task's stack to stderr (for a test that hangs)."""
    for task in asyncio.all_tasks():
        task.print_stack(limit=12, file=sys.stderr)
    sys.stderr.flush()


async def main() -> None:
    settings = load_settings()
    configure_logging(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, dump_tasks)
    runtime = HiwarRuntime(
        settings,
        tuning=tuning_from_environment(settings.extra),
        features=(*FEATURES, effect_feature),
    )
    await runtime.run_until(stop)
    logging.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
