"""Erasure is complete (issue 15): after /deletemydata, and again after the retention purges,
no column of any table — every table the database has, found by reflection, so a new table
cannot be forgotten — holds an erased member's Telegram id, opened or not; and nothing left
in the inbox, the outbox or the task queue points back to their report."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import MetaData, select

from bot.grievances.cases import purge_expired_identities
from bot.grievances.policy import GrievancePolicy
from bot.runtime.scheduler import TASK_RETENTION, purge_what_is_no_longer_needed
from storage.database import Database
from storage.models import Grievance, GrievanceEntry
from storage.sealing import FieldCipher, UnreadableField
from tests.fake_telegram import FakeBotApi
from tests.grievances.test_grievance_steps import TEST_SETTINGS
from tests.privacy import realistic_session as script
from tests.support.harness import BotHarness

KEY = Fernet.generate_key().decode()
# Rows of the member's own traffic; the outbox is checked row by row (staff's cards name the
# report, never the member), the task queue after the purge (staff work on the report, such
# as nudges, is not about the member).
LINK_TABLES = ("inbox_updates", "chat_leases", "flow_states")


def opened(value: Any, cipher: FieldCipher) -> str:
    """A stored value as text, with whatever is sealed in it opened."""
    if isinstance(value, (dict, list)):
        return json.dumps(cipher.open_json(value), ensure_ascii=False)
    text = str(value)
    if text.startswith("{"):
        try:
            return json.dumps(cipher.open_json(json.loads(text)), ensure_ascii=False)
        except ValueError:
            return text
    try:
        if text.startswith(("f1:", "p:")):
            return cipher.open(text)
        return cipher.open_key(text)
    except UnreadableField:
        return text


async def every_value(database: Database) -> list[tuple[str, str, Any]]:
    """(table, column, value) of every non-null value of every table in the database."""
    found: list[tuple[str, str, Any]] = []
    async with database.engine.connect() as connection:
        metadata = MetaData()
        await connection.run_sync(metadata.reflect)
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            for row in (await connection.execute(select(table))).mappings():
                found += [(table.name, c, v) for c, v in row.items() if v is not None]
    return found


def naming(values: list[tuple[str, str, Any]], needle: str, cipher: FieldCipher) -> list[str]:
    pattern = re.compile(rf"(?<![0-9A-Za-z]){re.escape(needle)}(?![0-9A-Za-z])")
    return [
        f"{table}.{column}"
        for table, column, value in values
        if str(value) == needle or pattern.search(opened(value, cipher))
    ]


async def report_links(bot: BotHarness, reference: str) -> list[str]:
    """What would point at the report: its reference, ids and its entries' notify keys."""
    async with bot.db.unit_of_work() as uow:
        grievance = await uow.session.scalar(
            select(Grievance).where(Grievance.reference == reference)
        )
        assert grievance is not None
        entries = list(
            await uow.session.scalars(
                select(GrievanceEntry.id).where(GrievanceEntry.grievance_id == grievance.id)
            )
        )
    return [reference, *(f"grievance-notify:{entry}" for entry in entries)]


async def assert_nothing_left(
    bot: BotHarness, reference: str, moment: str, *, purged: bool = False
) -> None:
    cipher = FieldCipher([KEY])
    values = await every_value(bot.db)
    tables = {table for table, _, _ in values}
    assert {"members", "grievances", "outbox_messages", "survey_answers"} <= tables, tables
    for user in (script.REPORTER, script.ERASER):
        assert naming(values, str(user.id), cipher) == [], f"{moment}: {user.id} still named"
    links = await report_links(bot, reference)
    for table, column, value in values:
        if table in LINK_TABLES:
            for link in links:
                assert link not in opened(value, cipher), f"{moment}: {table}.{column} → {link}"
    staff_chats = {str(script.MODERATOR.id)}
    async with bot.db.engine.connect() as connection:
        metadata = MetaData()
        await connection.run_sync(metadata.reflect)
        outbox = metadata.tables["outbox_messages"]
        for row in (await connection.execute(select(outbox))).mappings():
            if str(row["chat_id"]) in staff_chats:
                continue  # staff's own messages: the card names the report, never the member
            text = " ".join(opened(v, cipher) for v in row.values() if v is not None)
            for link in links:
                assert link not in text, f"{moment}: outbox row {row['id']} → {link}"
        if purged:  # finished tasks are gone, with their payloads and keys
            tasks = metadata.tables["scheduled_tasks"]
            for row in (await connection.execute(select(tasks))).mappings():
                assert row["status"] in ("pending", "running"), f"{moment}: task {row['id']}"


async def test_no_table_names_an_erased_member_after_deletemydata_and_after_the_purges(
    fake_api: FakeBotApi, database_url: str
) -> None:
    bot = BotHarness(fake_api, database_url, DATA_KEY=KEY, **TEST_SETTINGS)
    await bot.start()
    try:
        survey_id = await script.prepare(bot.db, migrate=False)
        played = await script.play(fake_api, survey_id)
        await script.erase(fake_api, played.reporter)  # the reporter erases too
        await bot.idle()
        await assert_nothing_left(bot, played.reference, "after /deletemydata")

        # Months later, once the tasks due meanwhile have run, the hourly purge and the
        # identity retention run (the bot stopped, so nothing runs in between).
        bot.clock.advance(timedelta(days=120))
        await asyncio.sleep(1.0)
        await bot.idle()
        later = bot.clock.now() + TASK_RETENTION + timedelta(hours=1)
        assert bot.runtime is not None
        await bot.runtime.stop()
        bot.runtime = None
        async with bot.db.unit_of_work() as uow:
            await purge_what_is_no_longer_needed(uow.session, later)
            await purge_expired_identities(uow, later, GrievancePolicy().identity_retention)
            await uow.commit()
        await assert_nothing_left(bot, played.reference, "after the purges", purged=True)
        async with bot.db.unit_of_work() as uow:
            assert list(await uow.session.scalars(select(Grievance.reference))) == [
                played.reference
            ]  # the report itself stays, anonymised
    finally:
        await bot.stop()
