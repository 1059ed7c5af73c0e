"""Shared fixtures: the fake Bot API, a fresh database of each kind, and the running bot."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.fake_telegram import FakeBotApi
from tests.support.databases import fresh_database_url
from tests.support.harness import BotHarness

DATABASE_KINDS = ["sqlite", "postgresql"]


@pytest.fixture
def fake_api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        yield api


@pytest.fixture(params=DATABASE_KINDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return await fresh_database_url(str(request.param), tmp_path)


@pytest.fixture
async def bot(fake_api: FakeBotApi, database_url: str) -> AsyncIterator[BotHarness]:
    harness = BotHarness(fake_api, database_url)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
