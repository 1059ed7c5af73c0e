"""Protection of identity and content (SPEC §7): encryption at rest, key rotation, the
retention purge of identity links, /deletemydata, and the start-up warning."""

from __future__ import annotations

import argparse
import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from bot.commands import rotate_key
from bot.engines.field_encryption import SEALED_PREFIX, FieldCipher
from bot.engines.tasks import schedule_task
from bot.grievances.cases import case_details, change_status
from bot.grievances.tasks import RETENTION_TASK
from bot.members.erasure import erase_member
from storage.models import Grievance, GrievanceReporter, ScheduledTask
from tests.fake_telegram import FakeBotApi
from tests.grievances.test_grievance_steps import (
    file_text_report,
    member_who_consented,
    reference_in,
    running_bot,
    staff_member,
)
from tests.support.harness import BotHarness, settings_for

SECRET_TEXT = "Plaintext-marker-7Q: the officer at the Ramadi bridge checkpoint"
OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def sqlite_files(database_url: str) -> list[Path]:
    database = Path(str(make_url(database_url).database))
    return [p for p in (database, Path(f"{database}-wal")) if p.exists()]


async def test_with_data_key_the_description_is_not_readable_in_the_database(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url, DATA_KEY=OLD_KEY) as bot:
        member = await member_who_consented(bot, 7101)
        confirmation = await file_text_report(
            member, SECRET_TEXT, contact="contactable", contact_details="+964 770 123 4567"
        )
        reference = reference_in(confirmation.content)
        await bot.idle()
        async with bot.db.unit_of_work() as uow:
            raw = (
                await uow.session.execute(
                    text("SELECT description FROM grievances WHERE reference = :r"),
                    {"r": reference},
                )
            ).scalar_one()
            contact = (
                await uow.session.execute(text("SELECT contact_details FROM grievance_reporters"))
            ).scalar_one()
        assert raw.startswith(SEALED_PREFIX) and "Ramadi" not in raw
        assert contact.startswith(SEALED_PREFIX) and "770" not in contact
        assert FieldCipher([OLD_KEY]).open(raw) == SECRET_TEXT

    if database_url.startswith("sqlite"):
        for path in sqlite_files(database_url):
            assert b"Ramadi bridge" not in path.read_bytes(), path.name


async def test_key_rotation_keeps_every_report_readable(
    fake_api: FakeBotApi, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_bot(fake_api, database_url, DATA_KEY=OLD_KEY) as bot:
        member = await member_who_consented(bot, 7102)
        moderator = await staff_member(bot, 9101)
        references = []
        for number in range(3):
            confirmation = await file_text_report(member, f"{SECRET_TEXT} #{number}")
            references.append(reference_in(confirmation.content))
        moderator.command(f"/reply {references[0]} We are looking into it.")
        await moderator.reply(timeout=20)
        await bot.idle()

    settings = settings_for(fake_api, database_url, DATA_KEY=OLD_KEY)
    monkeypatch.setenv("NEW_DATA_KEY", NEW_KEY)
    args = argparse.Namespace(new_key=None, batch=2)
    assert await rotate_key.run(settings, args) == 0
    assert await rotate_key.run(settings, args) == 0  # idempotent: running again is harmless

    async with running_bot(fake_api, database_url, DATA_KEY=NEW_KEY) as bot:
        async with bot.db.unit_of_work() as uow:
            stored = list(await uow.session.scalars(select(Grievance.description)))
            for number, reference in enumerate(references):
                case = await case_details(uow, reference, 9101, bot.clock.now())
                assert case.description == f"{SECRET_TEXT} #{number}"
            first = await case_details(uow, references[0], 9101, bot.clock.now())
            assert [e.text for e in first.entries if e.text] == ["We are looking into it."]
        with pytest.raises(Exception):  # noqa: B017 - the old key no longer opens anything
            FieldCipher([OLD_KEY]).open(stored[0])


async def wait_until_task_done(bot: BotHarness, dedupe_key: str) -> None:
    for _ in range(400):
        async with bot.db.unit_of_work() as uow:
            status = await uow.session.scalar(
                select(ScheduledTask.status).where(ScheduledTask.dedupe_key == dedupe_key)
            )
        if status == "done":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"task {dedupe_key} did not run")


async def test_identity_links_of_closed_reports_are_purged_after_the_retention_period(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url, HIWAR_IDENTITY_RETENTION_DAYS="10") as bot:
        member = await member_who_consented(bot, 7103)
        closed = reference_in((await file_text_report(member, "Closed long ago")).content)
        still_open = reference_in((await file_text_report(member, "Still open")).content)
        now = bot.clock.now()
        async with bot.db.unit_of_work() as uow:
            await change_status(uow, closed, "closed", None, now - timedelta(days=11), "done")
            await schedule_task(
                uow, kind=RETENTION_TASK, payload={}, due_at=now, now=now, dedupe_key="test-run"
            )
            await uow.commit()
        await wait_until_task_done(bot, "test-run")
        await bot.idle()
        fake_api.reset_cursor(member.chat_id, to_end=True)
        member.command(f"/status {closed}")
        assert "could not find" in (await member.reply(timeout=20)).content
        async with bot.db.unit_of_work() as uow:
            linked = set(
                await uow.session.scalars(
                    select(Grievance.reference).join(
                        GrievanceReporter, GrievanceReporter.grievance_id == Grievance.id
                    )
                )
            )
            assert linked == {still_open}
            assert len(list(await uow.session.scalars(select(Grievance.id)))) == 2


async def test_deletemydata_unlinks_reports_and_keeps_them_anonymised(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url) as bot:
        member = await member_who_consented(bot, 7104)
        await file_text_report(
            member, "Land dispute", contact="contactable", contact_details="call 0770"
        )
        async with bot.db.unit_of_work() as uow:
            await erase_member(uow, 7104, bot.clock.now())
            await uow.commit()
        async with bot.db.unit_of_work() as uow:
            assert list(await uow.session.scalars(select(GrievanceReporter))) == []
            assert len(list(await uow.session.scalars(select(Grievance)))) == 1


async def test_a_missing_data_key_is_a_loud_warning_at_start_up(
    fake_api: FakeBotApi, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        async with running_bot(fake_api, database_url):
            pass
    warnings = [r for r in caplog.records if "DATA_KEY is not set" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
