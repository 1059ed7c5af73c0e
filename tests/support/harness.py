"""Running the real bot against the fake Bot API, in this process or as a child process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from bot.clock import OffsetClock
from bot.config import Settings, load_settings
from bot.runtime.application import FEATURES, HiwarRuntime, Tuning
from storage.database import Database
from tests.fake_telegram import FakeBotApi, SimulatedUser, TgUser

REPO_ROOT = Path(__file__).resolve().parents[2]
# The test organisation has set its own referral directory (the shipped one holds example
# entries only, which makes the bot warn its admins at start-up; tests of that set it back).
TEST_REFERRALS = str(REPO_ROOT / "tests" / "data" / "referrals.toml")
SHIPPED_REFERRALS = str(REPO_ROOT / "bot" / "data" / "referrals.toml")
FAST = Tuning(
    tick_seconds=0.2,
    poll_timeout=1,
    outbox_rate=500.0,
    per_chat_interval=0.0,
    idle_poll_seconds=0.2,
    concurrency=32,
    pool_size=10,
)


def settings_for(api: FakeBotApi, database_url: str, **overrides: str) -> Settings:
    environ = {
        "BOT_TOKEN": api.token,
        "TELEGRAM_API_URL": api.base_url,
        "DATABASE_URL": database_url,
        "DEFAULT_LANGUAGE": "ar",
        "TIMEZONE": "Asia/Baghdad",
        "HIWAR_REFERRALS_FILE": TEST_REFERRALS,
    }
    environ.update(overrides)
    return load_settings(environ, env_file=None)


class BotHarness:
    """The real runtime in this event loop, with a clock tests can move forward."""

    def __init__(
        self,
        api: FakeBotApi,
        database_url: str,
        *,
        features: Sequence[ModuleType] = FEATURES,
        tuning: Tuning = FAST,
        **settings: str,
    ) -> None:
        self.api = api
        self.database_url = database_url
        self.features = tuple(features)
        self.tuning = tuning
        self.settings = settings_for(api, database_url, **settings)
        self.clock = OffsetClock()
        self.runtime: HiwarRuntime | None = None
        self._inspect_db: Database | None = None

    async def start(self) -> None:
        self.runtime = HiwarRuntime(
            self.settings, clock=self.clock, tuning=self.tuning, features=self.features
        )
        await self.runtime.start()

    async def stop(self) -> None:
        if self.runtime is not None:
            await self.runtime.stop()
            self.runtime = None
        if self._inspect_db is not None:
            await self._inspect_db.dispose()
            self._inspect_db = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    @property
    def db(self) -> Database:
        """A separate connection for the test to inspect the database."""
        if self._inspect_db is None:
            self._inspect_db = Database(self.database_url, pool_size=2)
        return self._inspect_db

    def user(
        self, user_id: int, language_code: str | None = "en", name: str = "Member"
    ) -> SimulatedUser:
        return SimulatedUser(self.api, TgUser(user_id, name, language_code=language_code))

    async def idle(self, timeout: float = 20.0) -> None:
        """Wait until every update sent so far has been handled and the outbox is empty."""
        from sqlalchemy import func, select

        from storage.models import InboxUpdate, OutboxMessage

        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            # Read Telegram's side first: once it has nothing unconfirmed, everything it
            # delivered is already committed to the inbox, so the queries below see it.
            at_telegram = self.api.pending_update_count()
            async with self.db.unit_of_work() as uow:
                inbox_pending = await uow.session.scalar(
                    select(func.count())
                    .select_from(InboxUpdate)
                    .where(InboxUpdate.status == "pending")
                )
                outbox_pending = await uow.session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status.in_(["pending", "sending"]))
                )
            runtime = self.runtime
            handling = (
                runtime is not None and runtime.processor is not None and runtime.processor.busy
            )
            sending = (
                runtime is not None and runtime.sender is not None and runtime.sender.backlog > 0
            )
            quiet = not handling and not sending
            if at_telegram == 0 and inbox_pending == 0 and outbox_pending == 0 and quiet:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"bot not idle: {self.api.pending_update_count()} at Telegram, "
                    f"{inbox_pending} in inbox, {outbox_pending} in outbox"
                )
            await asyncio.sleep(0.05)


class BotProcess:
    """`python tests/support/run_bot.py` as a child process, so tests can SIGKILL it."""

    def __init__(self, api: FakeBotApi, database_url: str, log_path: Path, **env: str) -> None:
        self.api = api
        self.database_url = database_url
        self.log_path = log_path
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = dict(os.environ)
        env.update(
            {
                "BOT_TOKEN": self.api.token,
                "TELEGRAM_API_URL": self.api.base_url,
                "DATABASE_URL": self.database_url,
                "HIWAR_TICK_SECONDS": "0.2",
                "HIWAR_POLL_TIMEOUT": "1",
                "HIWAR_OUTBOX_RATE": "500",
                "HIWAR_PER_CHAT_INTERVAL": "0",
                "HIWAR_IDLE_POLL": "0.2",
                "HIWAR_REFERRALS_FILE": TEST_REFERRALS,
                "PYTHONPATH": str(REPO_ROOT),
            }
        )
        env.update(self.env)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, str(REPO_ROOT / "tests" / "support" / "run_bot.py")],
            cwd=self.log_path.parent,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
