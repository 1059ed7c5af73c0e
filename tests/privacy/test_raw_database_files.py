"""A leaked database reveals nothing (issue 15 acceptance): a realistic session against the
real bot with DATA_KEY set, a SIGKILL, then every byte of the database files is read as an
attacker holding the disk would: on SQLite the main file, `-wal` and `-shm`; on PostgreSQL
the whole data directory of a private server (relation files, `pg_wal`, everything), after
the server itself is stopped as by a crash. None holds a distinctive text typed in the
session, a member's name or username or Telegram id as text, or the moderator's username.

Staff first names are kept by design (`staff_names`: colleagues are named to each other), as
is the id of an account granted a staff role (in the audit log), so the moderator's first
name and id are not looked for. One run per database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from storage.database import Database
from tests.fake_telegram import FakeBotApi
from tests.privacy import realistic_session as script
from tests.support.harness import BotProcess
from tests.support.private_postgres import PrivatePostgres, missing_reason, start_private_postgres

pytestmark = pytest.mark.chaos

KEY = Fernet.generate_key().decode()


@pytest.fixture
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    reason = missing_reason()
    if reason is not None:
        pytest.skip(f"raw PostgreSQL files test skipped: {reason}")
    server = await start_private_postgres()
    try:
        yield server
    finally:
        await asyncio.to_thread(server.cleanup)


def leaks(files: list[Path]) -> list[str]:
    """'what in which file' for every distinctive string found in the raw bytes."""
    found = []
    needles = {what: text.encode() for what, text in script.distinctive_strings().items()}
    for path in files:
        content = path.read_bytes()
        found += [f"{what} in {path}" for what, needle in needles.items() if needle in content]
    return found


async def play_and_kill(api: FakeBotApi, url: str, log: Path) -> script.PlayedSession:
    database = Database(url, pool_size=1)
    try:
        survey_id = await script.prepare(database)
    finally:
        await database.dispose()
    bot = BotProcess(api, url, log, DATA_KEY=KEY, HIWAR_FLOOD_MESSAGES="1000")
    bot.start()
    try:
        await api.wait_for(lambda: bool(api.calls_to("getUpdates")), timeout=60)
        played = await script.play(api, survey_id)
        await script.quiet(api, played.reporter)
        bot.kill()
    finally:
        bot.terminate()
    return played


async def test_sqlite_files_hold_nothing_readable_after_a_session_and_a_kill(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    database = tmp_path / "hiwar.db"
    played = await play_and_kill(fake_api, f"sqlite+aiosqlite:///{database}", tmp_path / "b.log")
    files = [p for p in (database, Path(f"{database}-wal"), Path(f"{database}-shm")) if p.exists()]
    assert database in files and Path(f"{database}-wal") in files  # killed: the WAL is there
    assert sum(p.stat().st_size for p in files) > 100_000
    assert leaks(files) == []
    assert [i for i in played.file_ids if any(i.encode() in p.read_bytes() for p in files)] == []


async def test_postgresql_data_directory_holds_nothing_readable_after_a_session_and_a_kill(
    fake_api: FakeBotApi, tmp_path: Path, private_postgres: PrivatePostgres
) -> None:
    played = await play_and_kill(fake_api, private_postgres.url, tmp_path / "b.log")
    await asyncio.to_thread(private_postgres.stop_server, "immediate")  # as a crash leaves it
    files = [p for p in private_postgres.data.rglob("*") if p.is_file()]
    assert any("pg_wal" in p.parts for p in files)
    assert any(p.parent.parent.name == "base" for p in files)  # relation files
    assert leaks(files) == []
    assert [i for i in played.file_ids if any(i.encode() in p.read_bytes() for p in files)] == []
