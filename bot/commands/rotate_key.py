"""`python -m bot rotate-key`: re-seal everything sealed at rest with a new key (SPEC §7).

The old key(s) come from DATA_KEY (several may be given, comma-separated; after the first, a
passphrase of an older version is accepted so a database sealed with one can be moved to a
random key); the new key, a random key (`python -m bot new-key`), from `--new-key` or the
NEW_DATA_KEY variable. Sealed are: grievance descriptions and areas, contact details, case
entries, attachments, report and other flow drafts, the inbox and outbox payloads, task
payloads, de-duplication keys, survey drafts and answers. Values still in plain text (written
while no DATA_KEY was set) are sealed too, so the same command turns sealing on.

First every sealed value is opened with the configured keys; if one cannot be opened (a wrong
old key) the command says so in one line and changes nothing. Then rows are rewritten in
batches, each in its own transaction, so the command can be stopped and run again: it is
idempotent. The bot may keep running meanwhile if its DATA_KEY lists both keys, new first
("NEW,OLD"); once the command has finished, set DATA_KEY=NEW.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, tuple_, update
from sqlalchemy.orm import InstrumentedAttribute

from bot.config import ConfigError, Settings
from bot.engines.field_encryption import FieldCipher, UnreadableField, is_random_key, split_keys
from storage import sealing
from storage.database import Database
from storage.models import (
    FlowState,
    Grievance,
    GrievanceEntry,
    GrievanceReporter,
    InboxUpdate,
    OutboxMessage,
    ScheduledTask,
    SentMessageLink,
    SurveyAnswer,
    SurveyResponse,
)

NAME = "rotate-key"
HELP = "re-seal stored data with a new key (old key: DATA_KEY; new: NEW_DATA_KEY)"
BATCH = 200
DRAFT_FLOWS = ("grievances.report", "grievances.addition", "grievances.appeal")
SEALED_DRAFT_KEYS = ("area", "contact")

Column = InstrumentedAttribute[Any]
# Text columns the grievance services seal themselves (`f1:` values).
FIELD_COLUMNS: tuple[tuple[tuple[Column, ...], Column], ...] = (
    ((Grievance.id,), Grievance.description),
    ((Grievance.id,), Grievance.area),
    ((GrievanceReporter.grievance_id,), GrievanceReporter.contact_details),
    ((GrievanceEntry.id,), GrievanceEntry.text),
)
# Columns whose type seals them (storage.sealing): read back and written again.
TYPED_COLUMNS: tuple[tuple[tuple[Column, ...], Column], ...] = (
    ((Grievance.id,), Grievance.media),
    ((GrievanceEntry.id,), GrievanceEntry.media),
    ((InboxUpdate.update_id,), InboxUpdate.payload),
    ((OutboxMessage.id,), OutboxMessage.payload),
    ((OutboxMessage.id,), OutboxMessage.dedupe_key),
    ((ScheduledTask.id,), ScheduledTask.payload),
    ((ScheduledTask.id,), ScheduledTask.dedupe_key),
    ((SurveyResponse.id,), SurveyResponse.draft),
    ((SurveyAnswer.response_id, SurveyAnswer.name), SurveyAnswer.value),
    ((SentMessageLink.id,), SentMessageLink.lookup_key),
    ((FlowState.user_id,), FlowState.data),
)


class WrongOldKey(Exception):
    """A stored value that none of the old keys opens."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--new-key", help="the new key (default: the NEW_DATA_KEY variable)")
    parser.add_argument("--batch", type=int, default=BATCH, help="rows per transaction")


def reseal_draft(data: dict[str, Any], reseal: Callable[[str], str]) -> dict[str, Any]:
    """A report draft with its sealed values re-encrypted."""
    updated = dict(data)
    for key in SEALED_DRAFT_KEYS:
        if isinstance(updated.get(key), str):
            updated[key] = reseal(updated[key])
    for list_key in ("parts", "_previous_parts"):
        parts = updated.get(list_key)
        if isinstance(parts, list):
            updated[list_key] = [
                {**part, "t": reseal(part["t"])} if isinstance(part.get("t"), str) else part
                for part in parts
            ]
    return updated


def _name(column: Column) -> str:
    return f"{column.class_.__tablename__}.{column.key}"


async def _rows(database: Database, keys: tuple[Column, ...], column: Column, batch: int) -> Any:
    """Every (key..., value) of `column` in batches, decoded by its type."""
    last: tuple[Any, ...] | None = None
    while True:
        async with database.unit_of_work(read_only=True) as uow:
            query = select(*keys, column).where(column.is_not(None))
            if last is not None:
                query = query.where(tuple_(*keys) > tuple_(*last))
            try:
                rows = (await uow.session.execute(query.order_by(*keys).limit(batch))).all()
            except UnreadableField:
                raise WrongOldKey(_name(column)) from None
        if not rows:
            return
        yield rows
        last = tuple(rows[-1][: len(keys)])


async def check_readable(database: Database, cipher: FieldCipher, batch: int) -> None:
    """Raise WrongOldKey unless every sealed value opens with `cipher` (writes nothing)."""
    for keys, column in FIELD_COLUMNS:
        async for rows in _rows(database, keys, column, batch):
            for row in rows:
                try:
                    cipher.open(row[-1])
                except UnreadableField:
                    raise WrongOldKey(_name(column)) from None
    for keys, column in TYPED_COLUMNS:
        async for _rows_read in _rows(database, keys, column, batch):
            pass
    for _user_id, flow, data in await _drafts(database):
        if flow in DRAFT_FLOWS:
            try:
                reseal_draft(data, cipher.open)
            except UnreadableField:
                raise WrongOldKey("flow_states.data") from None


async def _drafts(database: Database) -> list[tuple[int, str, dict[str, Any]]]:
    """Conversations in progress (few: one per member at most, short-lived)."""
    async with database.unit_of_work(read_only=True) as uow:
        try:
            rows = await uow.session.execute(
                select(FlowState.user_id, FlowState.flow, FlowState.data)
            )
            return [(user_id, flow, dict(data)) for user_id, flow, data in rows.tuples()]
        except UnreadableField:
            raise WrongOldKey("flow_states.data") from None


async def _rewrite(
    database: Database,
    keys: tuple[Column, ...],
    column: Column,
    batch: int,
    transform: Callable[[Any], Any],
) -> int:
    changed = 0
    table = column.class_
    async for rows in _rows(database, keys, column, batch):
        async with database.unit_of_work() as uow:
            for row in rows:
                condition = [key == value for key, value in zip(keys, row, strict=False)]
                await uow.session.execute(
                    update(table)
                    .where(*condition)
                    .values({column.key: transform(row[-1])})
                    .execution_options(synchronize_session=False)
                )
                changed += 1
            await uow.commit()
    return changed


async def rotate(database: Database, old_keys: list[str], new_key: str, batch: int) -> int:
    """Re-seal everything with `new_key`; returns how many values were rewritten.

    Raises WrongOldKey, having changed nothing, when a value does not open with the keys."""
    cipher = FieldCipher([new_key, *old_keys])
    previous = sealing.active_cipher()
    sealing.use(cipher)
    try:
        await check_readable(database, cipher, batch)
        total = 0
        for keys, column in FIELD_COLUMNS:
            total += await _rewrite(database, keys, column, batch, cipher.reseal)
        for keys, column in TYPED_COLUMNS:
            if column is FlowState.data:
                continue
            total += await _rewrite(database, keys, column, batch, lambda value: value)
        for user_id, flow, data in await _drafts(database):
            async with database.unit_of_work() as uow:
                await uow.session.execute(
                    update(FlowState)
                    .where(FlowState.user_id == user_id, FlowState.flow == flow)
                    .values(
                        data=reseal_draft(data, cipher.reseal) if flow in DRAFT_FLOWS else data
                    )
                    .execution_options(synchronize_session=False)
                )
                await uow.commit()
            total += 1
        return total
    finally:
        sealing.use(previous)


async def run(settings: Settings, args: argparse.Namespace) -> int:
    new_key = (args.new_key or os.environ.get("NEW_DATA_KEY") or "").strip()
    if not new_key:
        raise ConfigError("NEW_DATA_KEY is required: pass --new-key or set NEW_DATA_KEY")
    if "," in new_key:
        raise ConfigError("NEW_DATA_KEY must be one key: commas separate keys in DATA_KEY")
    if not is_random_key(new_key):
        raise ConfigError(
            "NEW_DATA_KEY must be a random key, not a passphrase or a short value; "
            f"{sealing.MAKE_A_KEY}"
        )
    old_keys = split_keys(settings.data_key.reveal() if settings.data_key else None)
    database = Database(settings.database_url)
    try:
        rewritten = await rotate(database, old_keys, new_key, max(1, args.batch))
    except WrongOldKey as error:
        print(
            f"hiwar: {error.where} holds a value DATA_KEY does not open (a wrong old key?); "
            "nothing was changed"
        )
        return 1
    finally:
        await database.dispose()
    print(f"{rewritten} values re-encrypted; now set DATA_KEY to the new key")
    return 0
