"""Test databases: a fresh SQLite file, or a freshly emptied PostgreSQL schema."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
import pytest

POSTGRES_ENV = "HIWAR_TEST_POSTGRES_URL"
POSTGRES_SKIP_REASON = (
    f"PostgreSQL tests skipped: set {POSTGRES_ENV}="
    "postgresql+asyncpg://postgres@127.0.0.1:5432/test to run them (.ci/run always does)"
)


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


async def reset_postgres(url: str) -> None:
    """Drop everything in the public schema of the test database."""
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    finally:
        await connection.close()


async def fresh_database_url(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'hiwar.db'}"
    url = postgres_url()
    if url is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    await reset_postgres(url)
    return url
