"""Test databases: a fresh SQLite file or PostgreSQL database, empty or already migrated.

Running every Alembic migration again for each test cost about a tenth of a second a test, so
the first test of a session that needs a migrated database migrates a template once (an SQLite
file, or a PostgreSQL database named after the test database plus `_template`), and each test
then gets its own copy: the file copied, or the test database dropped and created again from
the template. The bot's own migration at start-up is then only a check that finds nothing to
do. Tests of the migrations themselves still get an empty database (`fresh_database_url`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from storage.database import Database
from storage.migrate import upgrade_database

POSTGRES_ENV = "HIWAR_TEST_POSTGRES_URL"
POSTGRES_SKIP_REASON = (
    f"PostgreSQL tests skipped: set {POSTGRES_ENV}="
    "postgresql+asyncpg://postgres@127.0.0.1:5432/test to run them (.ci/run always does)"
)
# Where to connect while dropping and creating the test database (it cannot be in use then).
MAINTENANCE_DATABASE = "postgres"


def postgres_url() -> str | None:
    """The PostgreSQL test database, one per pytest-xdist worker (`test_gw0`, `test_gw1`, …)
    so that workers never drop each other's database."""
    url = os.environ.get(POSTGRES_ENV) or None
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if url is None or not worker:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(False)


def asyncpg_dsn(url: str, database: str | None = None) -> str:
    """`url` (SQLAlchemy's form) as asyncpg wants it, optionally naming another database."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def reset_postgres(url: str) -> None:
    """Drop everything in the public schema of the test database."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    finally:
        await connection.close()


async def fresh_database_url(kind: str, tmp_path: Path) -> str:
    """An empty database of `kind`: nothing migrated yet."""
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'hiwar.db'}"
    url = postgres_url()
    if url is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    await reset_postgres(url)
    return url


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _migrate(url: str) -> None:
    database = Database(url, pool_size=1)
    try:
        await upgrade_database(database)
    finally:
        await database.dispose()


class MigratedTemplates:
    """Databases migrated once per test session, copied for each test that wants one."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._sqlite_template: Path | None = None
        self._postgres_template: tuple[str, str] | None = None  # (test URL, template name)

    async def fresh_migrated_url(self, kind: str, tmp_path: Path) -> str:
        """A database of `kind` with every migration applied and no rows of its own."""
        if kind == "sqlite":
            return await self._sqlite_copy(tmp_path / "hiwar.db")
        url = postgres_url()
        if url is None:
            pytest.skip(POSTGRES_SKIP_REASON)
        await self._postgres_copy(url)
        return url

    async def _sqlite_copy(self, target: Path) -> str:
        if self._sqlite_template is None:
            template = self.directory / "template.db"
            # Disposing the engine checkpoints the WAL into the file, so the file is complete.
            await _migrate(f"sqlite+aiosqlite:///{template}")
            self._sqlite_template = template
        shutil.copyfile(self._sqlite_template, target)
        return f"sqlite+aiosqlite:///{target}"

    async def _postgres_copy(self, url: str) -> None:
        name = make_url(url).database
        if not name:
            raise ValueError(f"{POSTGRES_ENV} must name a database")
        connection = await asyncpg.connect(asyncpg_dsn(url, MAINTENANCE_DATABASE))
        try:
            if self._postgres_template is None or self._postgres_template[0] != url:
                template = f"{name}_template"
                await connection.execute(
                    f"DROP DATABASE IF EXISTS {_identifier(template)} WITH (FORCE)"
                )
                await connection.execute(f"CREATE DATABASE {_identifier(template)}")
                await _migrate(make_url(url).set(database=template).render_as_string(False))
                self._postgres_template = (url, template)
            template = self._postgres_template[1]
            # FORCE: connections a previous test left open must not keep its data alive.
            await connection.execute(f"DROP DATABASE IF EXISTS {_identifier(name)} WITH (FORCE)")
            await connection.execute(
                f"CREATE DATABASE {_identifier(name)} TEMPLATE {_identifier(template)}"
            )
        finally:
            await connection.close()

    async def drop(self) -> None:
        """Remove the PostgreSQL template at the end of the session."""
        if self._postgres_template is None:
            return
        url, template = self._postgres_template
        self._postgres_template = None
        connection = await asyncpg.connect(asyncpg_dsn(url, MAINTENANCE_DATABASE))
        try:
            await connection.execute(f"DROP DATABASE IF EXISTS {_identifier(template)}")
        finally:
            await connection.close()
