"""PostgreSQL restarted during load (issue 9): the bot recovers by itself, loses nothing
committed, and handles the updates that arrived meanwhile once it is back."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from storage.database import Database
from tests.fake_telegram import FakeBotApi, SimulatedUser, TgUser
from tests.support.databases import POSTGRES_SKIP_REASON, postgres_url, reset_postgres
from tests.support.effects import duplicates, out_of_order_chats, recorded_effects
from tests.support.harness import BotProcess

pytestmark = pytest.mark.chaos


def cluster_command(action: str) -> list[str] | None:
    tool = shutil.which("pg_ctlcluster")
    if tool is None or not Path("/etc/postgresql").is_dir() or os.geteuid() != 0:
        return None
    versions = sorted(os.listdir("/etc/postgresql"))
    if not versions:
        return None
    return [tool, "--skip-systemctl-redirect", versions[-1], "main", action]


async def test_postgresql_restart_during_load_loses_nothing(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    url = postgres_url()
    if url is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    if os.environ.get("HIWAR_TEST_RESTART_POSTGRES") != "1":
        pytest.skip(
            "restarts the PostgreSQL server: set HIWAR_TEST_RESTART_POSTGRES=1 (.ci/run does)"
        )
    restart = cluster_command("restart")
    if restart is None:
        pytest.skip("needs pg_ctlcluster and root to restart the local PostgreSQL server")
    await reset_postgres(url)
    process = BotProcess(fake_api, url, tmp_path / "bot.log", HIWAR_TEST_EFFECT_DELAY="0.01")
    process.start()
    database = Database(url)
    try:
        users = [SimulatedUser(fake_api, TgUser(33_000 + n, f"P{n}")) for n in range(10)]
        sent = []
        for seq in range(6):
            for user in users:
                sent.append(user.command(f"/effect {seq}"))
        await asyncio.sleep(0.5)
        result = await asyncio.to_thread(
            subprocess.run, restart, capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 0, result.stderr
        for seq in range(6, 10):  # arrive while the database is coming back
            for user in users:
                sent.append(user.command(f"/effect {seq}"))
        deadline = asyncio.get_running_loop().time() + 120
        while True:
            try:
                effects = await recorded_effects(database)
            except Exception:  # the test's own connection may also have been cut
                await database.dispose()
                effects = []
            if len(effects) >= len(sent):
                break
            assert asyncio.get_running_loop().time() < deadline, process.log()[-3000:]
            await asyncio.sleep(0.3)
        await asyncio.sleep(1.0)
        effects = await recorded_effects(database)
        assert sorted(e.update_id for e in effects) == sorted(sent)
        assert duplicates(effects) == {}
        assert out_of_order_chats(effects) == []
        assert process.process is not None and process.process.poll() is None, "bot still up"
    finally:
        process.terminate()
        await database.dispose()
