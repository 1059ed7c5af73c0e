"""The README's first command: `python -m bot` starts with nothing set up but the token."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.fake_telegram import FakeBotApi, SimulatedUser, TgUser

REPO = Path(__file__).resolve().parents[2]


async def test_python_m_bot_creates_the_sqlite_file_and_answers(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "HIWAR_"))}
    env.update(
        PYTHONPATH=str(REPO),
        BOT_TOKEN=fake_api.token,
        TELEGRAM_API_URL=fake_api.base_url,
        HIWAR_POLL_TIMEOUT="1",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        member = SimulatedUser(fake_api, TgUser(90_001, "New", language_code="en"))
        member.command("/cancel")
        reply = await member.reply(timeout=60)
        assert reply.text == "There is nothing to cancel."
        assert (tmp_path / "data" / "hiwar.db").is_file()
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.to_thread(process.communicate, timeout=60)
    log = output.decode(errors="replace")
    assert process.returncode == 0, log
    assert fake_api.token not in log
    assert "Hiwar started (polling, sqlite)" in log
