"""/export: cases as CSV (UTF-8 with BOM, for Excel) and XLSX, with the /queue filters.

Never exported: who reported (the reporter table is not read), contact details, and free
text (description, area, notes, replies), which can name people. Safeguarding cases are
exported only to safeguarding staff.

Cases are read in keyset batches of `BATCH` (by id) and written straight to files on disk
(openpyxl's write-only mode), so 100,000 cases take the same memory as a few thousand.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from bot.engines.audit import record_action
from bot.engines.roles import Role, may_act
from bot.moderation.actions import require_moderator
from bot.moderation.queue import QueueFilters
from storage.database import UnitOfWork
from storage.models import Grievance

BATCH = 2000
COLUMNS = (
    "reference",
    "status",
    "priority",
    "category",
    "governorate",
    "urgency",
    "risk_flags",
    "safeguarding",
    "assignee_id",
    "duplicate_of",
    "created_at",
    "ack_due_at",
    "acknowledged_at",
    "resolved_at",
    "closed_at",
)


@dataclass(frozen=True)
class ExportFiles:
    csv_path: Path
    xlsx_path: Path
    rows: int

    def remove(self) -> None:
        for path in (self.csv_path, self.xlsx_path):
            path.unlink(missing_ok=True)


def _iso(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value is not None else ""


def _query(
    filters: QueueFilters, viewer: int, now: datetime, safeguarding: bool
) -> Select[tuple[object, ...]]:
    main = aliased(Grievance)
    query = select(
        Grievance.id,
        Grievance.reference,
        Grievance.status,
        Grievance.priority,
        Grievance.category,
        Grievance.governorate,
        Grievance.urgency,
        Grievance.risk_flags,
        Grievance.safeguarding,
        Grievance.assignee_id,
        main.reference,
        Grievance.created_at,
        Grievance.ack_due_at,
        Grievance.acknowledged_at,
        Grievance.resolved_at,
        Grievance.closed_at,
    ).outerjoin(main, main.id == Grievance.main_case_id)
    if filters.status is not None:
        query = query.where(Grievance.status == filters.status)
    if filters.category is not None:
        query = query.where(Grievance.category == filters.category)
    if filters.governorate is not None:
        query = query.where(Grievance.governorate == filters.governorate)
    if filters.mine:
        query = query.where(Grievance.assignee_id == viewer)
    if filters.overdue:
        query = query.where(
            Grievance.status == "new",
            Grievance.acknowledged_at.is_(None),
            Grievance.ack_due_at < now,
        )
    if not safeguarding:
        query = query.where(Grievance.safeguarding.is_(False))
    return query


async def export_rows(
    uow: UnitOfWork, filters: QueueFilters, viewer: int, now: datetime, safeguarding: bool
) -> AsyncIterator[list[str]]:
    """The rows, in keyset batches by id (bounded memory whatever the number of cases)."""
    last_id = 0
    base = _query(filters, viewer, now, safeguarding)
    while True:
        batch = (
            await uow.session.execute(
                base.where(Grievance.id > last_id).order_by(Grievance.id).limit(BATCH)
            )
        ).all()
        if not batch:
            return
        for row in batch:
            values = list(row)
            last_id = int(values[0])
            flags = values[7]
            yield [
                str(values[1]),
                str(values[2]),
                str(values[3]),
                str(values[4]),
                str(values[5]),
                str(values[6]),
                " ".join(flags) if isinstance(flags, list) else "",
                "yes" if values[8] else "no",
                str(values[9] or ""),
                str(values[10] or ""),
                *(_iso(value) for value in values[11:16]),
            ]


async def export_cases(
    uow: UnitOfWork, viewer_id: int, filters: QueueFilters, now: datetime
) -> ExportFiles:
    """Write the export files (the caller sends them, then calls `remove()`); audited."""
    held = await require_moderator(uow, viewer_id)
    safeguarding = may_act(held, {Role.SAFEGUARDING})
    directory = Path(tempfile.mkdtemp(prefix="hiwar-export-"))
    stamp = now.strftime("%Y%m%d-%H%M")
    csv_path = directory / f"grievances-{stamp}.csv"
    xlsx_path = directory / f"grievances-{stamp}.xlsx"
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("grievances")
    sheet.append(list(COLUMNS))
    count = 0
    with csv_path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        async for row in export_rows(uow, filters, viewer_id, now, safeguarding):
            writer.writerow(row)
            sheet.append(row)
            count += 1
    workbook.save(xlsx_path)
    await record_action(
        uow,
        actor_id=viewer_id,
        action="grievance.export",
        record_type="grievance",
        record_id=None,
        now=now,
        details={"rows": count, "filters": filters.encode()},
    )
    return ExportFiles(csv_path, xlsx_path, count)
