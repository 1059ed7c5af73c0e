"""The migrations produce exactly the models' schema, on SQLite and PostgreSQL (SPEC §1.3)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from storage.database import Database
from storage.migrate import downgrade_database, upgrade_database
from storage.models import Base


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_create_exactly_the_models_schema(database_url: str) -> None:
    database = Database(database_url)
    try:
        await upgrade_database(database)
        async with database.engine.connect() as connection:
            differences = await connection.run_sync(_differences)
        assert differences == [], f"models and migrations disagree: {differences}"
    finally:
        await database.dispose()


async def test_migrations_downgrade_and_upgrade_again(database_url: str) -> None:
    database = Database(database_url)
    try:
        await upgrade_database(database)
        await downgrade_database(database)
        async with database.engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        assert set(tables) <= {"alembic_version"}
        await upgrade_database(database)
        await upgrade_database(database)  # applying twice is a no-op
        async with database.engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        assert set(Base.metadata.tables) <= set(tables)
    finally:
        await database.dispose()


async def test_sqlite_runs_in_wal_mode_with_busy_timeout(tmp_path: Any) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'wal.db'}")
    try:
        async with database.engine.connect() as connection:
            mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
            timeout = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar()
        assert mode == "wal"
        assert timeout == 30_000
    finally:
        await database.dispose()
