"""`Database.hold_transaction`: units of work inside it, with and without savepoints.

Real SQLite and real PostgreSQL. Without savepoints (the default, what every update uses
first), a unit that commits joins the held transaction, one that only read may leave
without a commit, and one that wrote and leaves without a commit marks the held
transaction `needs_savepoints`: it cannot commit, and run again with savepoints the same
unit's work alone is undone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from storage import flows
from storage.database import Database, SavepointsNeeded
from storage.models import FlowState

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    try:
        yield database
    finally:
        await database.dispose()


async def flow_users(database: Database) -> list[int]:
    async with database.unit_of_work(read_only=True) as uow:
        rows = await uow.session.scalars(select(FlowState.user_id).order_by(FlowState.user_id))
        return list(rows)


async def save(database: Database, user_id: int) -> None:
    async with database.unit_of_work() as uow:
        await flows.save_flow(uow.session, user_id, "report", "start", {"n": user_id}, NOW)
        await uow.commit()


async def test_units_that_commit_or_only_read_commit_with_the_held_transaction(
    database: Database,
) -> None:
    async with database.hold_transaction() as held:
        await save(database, 1)
        async with database.unit_of_work() as uow:  # reads, leaves without a commit
            assert await flows.load_flow(uow.session, 1) is not None
        await save(database, 2)
        assert not held.needs_savepoints
        await held.commit()
    assert await flow_users(database) == [1, 2]


async def test_leaving_without_commit_rolls_the_held_transaction_back(
    database: Database,
) -> None:
    async with database.hold_transaction():
        await save(database, 1)
    assert await flow_users(database) == []


async def test_a_unit_that_wrote_and_left_without_commit_needs_savepoints(
    database: Database,
) -> None:
    async with database.hold_transaction() as held:
        await save(database, 1)
        with pytest.raises(SavepointsNeeded):
            async with database.unit_of_work() as uow:
                await flows.save_flow(uow.session, 2, "report", "start", {}, NOW)
        assert held.needs_savepoints
        await save(database, 3)
        with pytest.raises(SavepointsNeeded):
            await held.commit()
    assert await flow_users(database) == []  # nothing of it was committed


async def test_an_error_leaving_a_unit_that_wrote_is_not_replaced(database: Database) -> None:
    async with database.hold_transaction() as held:
        with pytest.raises(LookupError):
            async with database.unit_of_work() as uow:
                await flows.save_flow(uow.session, 2, "report", "start", {}, NOW)
                raise LookupError("the handler's own error")
        assert held.needs_savepoints


async def test_an_orm_object_added_and_left_counts_as_a_write(database: Database) -> None:
    async with database.hold_transaction() as held:
        with pytest.raises(SavepointsNeeded):
            async with database.unit_of_work() as uow:
                uow.session.add(
                    FlowState(
                        user_id=7,
                        flow="report",
                        step="start",
                        data={},
                        version=1,
                        started_at=NOW,
                        updated_at=NOW,
                    )
                )
        assert held.needs_savepoints


async def test_with_savepoints_only_the_unit_left_without_commit_is_undone(
    database: Database,
) -> None:
    async with database.hold_transaction(savepoints=True) as held:
        await save(database, 1)
        async with database.unit_of_work() as uow:
            await flows.save_flow(uow.session, 2, "report", "start", {}, NOW)
        await save(database, 3)
        assert not held.needs_savepoints
        await held.commit()
    assert await flow_users(database) == [1, 3]
    async with database.unit_of_work(read_only=True) as uow:
        assert await uow.session.scalar(select(func.count()).select_from(FlowState)) == 2
