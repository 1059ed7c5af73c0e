"""Applying the Alembic migrations from code, so `python -m bot` needs nothing else."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from storage.database import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_MIGRATION_LOCK_KEY = 724_001  # any constant; serialises instances migrating one PostgreSQL


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
        )
    command.upgrade(alembic_config(connection), "heads")


def _downgrade(connection: Connection) -> None:
    command.downgrade(alembic_config(connection), "base")


async def upgrade_database(database: Database) -> None:
    async with database.engine.begin() as connection:
        await connection.run_sync(_upgrade)


async def downgrade_database(database: Database) -> None:
    async with database.engine.begin() as connection:
        await connection.run_sync(_downgrade)
