"""`python -m bot rotate-key`: re-encrypt every sealed grievance field with a new key (SPEC §7).

The old key(s) come from DATA_KEY (several may be given, comma-separated); the new key from
`--new-key` or the NEW_DATA_KEY variable. Fields: grievance descriptions and areas, contact
details, case entries (additions, appeals, replies, notes), and report drafts in progress.
Values that are still plain text (written while no DATA_KEY was set) are encrypted too, so
the same command turns encryption on for an existing database.

Rows are processed in batches, each in its own transaction, so the command can be stopped
and run again: it is idempotent. The bot may keep running meanwhile if its DATA_KEY lists
both keys, new first ("NEW,OLD"); once the command has finished, set DATA_KEY=NEW.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import InstrumentedAttribute

from bot.config import ConfigError, Settings
from bot.engines.field_encryption import FieldCipher, UnreadableField, split_keys
from storage.database import Database
from storage.models import FlowState, Grievance, GrievanceEntry, GrievanceReporter

NAME = "rotate-key"
HELP = "re-encrypt grievance fields with a new key (old key: DATA_KEY; new: NEW_DATA_KEY)"
BATCH = 200
DRAFT_FLOWS = ("grievances.report", "grievances.addition", "grievances.appeal")
SEALED_DRAFT_KEYS = ("area", "contact")


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


async def _rotate_column(
    database: Database,
    cipher: FieldCipher,
    key_column: InstrumentedAttribute[int],
    column: InstrumentedAttribute[Any],
    batch: int,
) -> int:
    table = key_column.class_
    changed, last = 0, None
    while True:
        async with database.unit_of_work() as uow:
            query = select(key_column, column).where(column.is_not(None))
            if last is not None:
                query = query.where(key_column > last)
            rows = (await uow.session.execute(query.order_by(key_column).limit(batch))).all()
            if not rows:
                return changed
            for key, value in rows:
                resealed = cipher.reseal(value)
                if resealed != value:
                    await uow.session.execute(
                        update(table)
                        .where(key_column == key)
                        .values({column.key: resealed})
                        .execution_options(synchronize_session=False)
                    )
                    changed += 1
            last = rows[-1][0]
            await uow.commit()


async def _rotate_drafts(database: Database, cipher: FieldCipher) -> int:
    changed = 0
    async with database.unit_of_work() as uow:
        drafts = await uow.session.scalars(
            select(FlowState).where(FlowState.flow.in_(DRAFT_FLOWS))
        )
        for draft in drafts:
            draft.data = reseal_draft(dict(draft.data), cipher.reseal)
            changed += 1
        await uow.commit()
    return changed


async def rotate(database: Database, old_keys: list[str], new_key: str, batch: int) -> int:
    """Re-encrypt everything with `new_key`; returns how many values were rewritten."""
    cipher = FieldCipher([new_key, *old_keys])
    total = 0
    for key_column, column in (
        (Grievance.id, Grievance.description),
        (Grievance.id, Grievance.area),
        (GrievanceReporter.grievance_id, GrievanceReporter.contact_details),
        (GrievanceEntry.id, GrievanceEntry.text),
    ):
        total += await _rotate_column(database, cipher, key_column, column, batch)
    return total + await _rotate_drafts(database, cipher)


async def run(settings: Settings, args: argparse.Namespace) -> int:
    new_key = (args.new_key or os.environ.get("NEW_DATA_KEY") or "").strip()
    if not new_key:
        raise ConfigError("NEW_DATA_KEY is required: pass --new-key or set NEW_DATA_KEY")
    if "," in new_key:
        raise ConfigError("NEW_DATA_KEY must be one key: commas separate keys in DATA_KEY")
    old_keys = split_keys(settings.data_key.reveal() if settings.data_key else None)
    database = Database(settings.database_url)
    try:
        rewritten = await rotate(database, old_keys, new_key, max(1, args.batch))
    except UnreadableField:
        print("hiwar: a value could not be decrypted with DATA_KEY; nothing more was changed")
        return 1
    finally:
        await database.dispose()
    print(f"{rewritten} values re-encrypted; now set DATA_KEY to the new key")
    return 0
