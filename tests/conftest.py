"""Shared fixtures: the fake Bot API, a fresh database of each kind, and the running bot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.fake_telegram import FakeBotApi
from tests.support.databases import MigratedTemplates, fresh_database_url
from tests.support.harness import BotHarness

DATABASE_KINDS = ["sqlite", "postgresql"]
# Their tests run the migrations themselves, so `database_url` is empty there, not migrated.
MIGRATION_TEST_FILES = frozenset({"test_migrations.py"})


@pytest.fixture
def fake_api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        yield api


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplates]:
    templates = MigratedTemplates(tmp_path_factory.mktemp("templates"))
    yield templates
    asyncio.run(templates.drop())


@pytest.fixture(params=DATABASE_KINDS)
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_templates: MigratedTemplates
) -> str:
    """A fresh database for this test alone, migrated to the latest revision (but for the
    migration tests, which get it empty)."""
    kind = str(request.param)
    if request.path.name in MIGRATION_TEST_FILES:
        return await fresh_database_url(kind, tmp_path)
    return await migrated_templates.fresh_migrated_url(kind, tmp_path)


@pytest.fixture
async def bot(fake_api: FakeBotApi, database_url: str) -> AsyncIterator[BotHarness]:
    harness = BotHarness(fake_api, database_url)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
