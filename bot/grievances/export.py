"""/export: cases as CSV (UTF-8 with BOM, for Excel) and XLSX, with the /queue filters.

Never exported: who reported (the reporter table is not read), contact details, and free
text (description, area, notes, replies), which can name people. Safeguarding cases are
exported only to safeguarding staff.

Cases are read in keyset batches of `BATCH` (by id) and written straight to files on disk
(openpyxl's write-only mode), so 100,000 cases take the same memory as a few thousand.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from bot.engines.audit import record_action
from bot.engines.roles import Role, may_act
from bot.engines.spreadsheets import CellValue, Column, CsvTable, Kind, Spreadsheet
from bot.grievances.directory import category
from bot.moderation.actions import require_moderator
from bot.moderation.queue import QueueFilters
from messages import Catalogue
from storage.database import UnitOfWork
from storage.models import Grievance

BATCH = 2000
# (name, kind, HXL hashtag); a code column is followed by its label in the staff language.
COLUMNS: tuple[tuple[str, Kind, str], ...] = (
    ("reference", "text", "#meta+id"),
    ("status", "code", "#status+code"),
    ("priority", "number", "#severity+code"),
    ("category", "code", "#sector+code"),
    ("governorate", "code", "#adm1+code"),
    ("urgency", "code", "#severity+urgency+code"),
    ("risk_flags", "code", "#indicator+risk+code"),
    ("safeguarding", "code", "#indicator+safeguarding"),
    ("assignee_id", "number", "#contact+staff+id"),
    ("duplicate_of", "text", "#meta+duplicate_of"),
    ("created_at", "datetime", "#date+reported"),
    ("ack_due_at", "datetime", "#date+ack_due"),
    ("acknowledged_at", "datetime", "#date+acknowledged"),
    ("resolved_at", "datetime", "#date+resolved"),
    ("closed_at", "datetime", "#date+closed"),
)
LABELLED = {
    "status": ("grievances.field_more.status", "#status+name"),
    "priority": ("grievances.field_more.priority", "#severity+name"),
    "category": ("grievances.field.category", "#sector+name"),
    "governorate": ("grievances.field.governorate", "#adm1+name"),
    "urgency": ("grievances.field.urgency", "#severity+urgency+name"),
    "risk_flags": ("grievances.field_more.risk_flags", "#indicator+risk+name"),
    "safeguarding": ("grievances.field_more.safeguarding", "#indicator+safeguarding+name"),
}


def export_columns(catalogue: Catalogue, language: str) -> list[Column]:
    """Every column with, after each coded one, its label column in the staff language."""
    columns = []
    for name, kind, hxl in COLUMNS:
        columns.append(Column(name, kind, hxl))
        if name in LABELLED:
            key, tag = LABELLED[name]
            columns.append(Column(catalogue.plain(language, key), "label", tag))
    return columns


class Labels:
    """The staff member's words for the codes, looked up once per export."""

    def __init__(self, catalogue: Catalogue, language: str) -> None:
        self._catalogue, self._language = catalogue, language
        self._cache: dict[tuple[str, str], str] = {}
        self.arabic = language == "ar"

    def _key(self, field: str, code: str) -> str:
        if field == "category":
            return category(code).labels.get(self._language, code)
        key = {
            "status": f"grievances.status.{code}",
            "priority": f"moderation.priority.p{code}",
            "governorate": f"governorate.{code}",
            "urgency": f"grievances.urgency.{code}",
            "risk_flags": f"grievances.risk.{code}",
            "safeguarding": f"grievances.field_more.{code}",
        }[field]
        return self._catalogue.plain(self._language, key) if self._catalogue.has(key) else code

    def of(self, field: str, code: str) -> str:
        if not code:
            return ""
        found = self._cache.get((field, code))
        if found is None:
            found = self._cache[(field, code)] = self._key(field, code)
        return found


@dataclass(frozen=True)
class ExportFiles:
    csv_path: Path
    xlsx_path: Path
    rows: int

    def remove(self) -> None:
        for path in (self.csv_path, self.xlsx_path):
            path.unlink(missing_ok=True)


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
    uow: UnitOfWork,
    filters: QueueFilters,
    viewer: int,
    now: datetime,
    safeguarding: bool,
    labels: Labels,
) -> AsyncIterator[list[CellValue]]:
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
            risk = [str(flag) for flag in flags] if isinstance(flags, list) else []
            codes = {
                "status": str(values[2]),
                "priority": str(values[3]),
                "category": str(values[4]),
                "governorate": str(values[5] or ""),
                "urgency": str(values[6]),
                "safeguarding": "yes" if values[8] else "no",
            }
            yield [
                str(values[1]),
                codes["status"],
                labels.of("status", codes["status"]),
                int(values[3]),
                labels.of("priority", codes["priority"]),
                codes["category"],
                labels.of("category", codes["category"]),
                codes["governorate"],
                labels.of("governorate", codes["governorate"]),
                codes["urgency"],
                labels.of("urgency", codes["urgency"]),
                " ".join(risk),
                "، ".join(labels.of("risk_flags", flag) for flag in risk)
                if labels.arabic
                else ", ".join(labels.of("risk_flags", flag) for flag in risk),
                codes["safeguarding"],
                labels.of("safeguarding", codes["safeguarding"]),
                int(values[9]) if values[9] is not None else None,
                str(values[10] or ""),
                *values[11:16],
            ]


async def export_cases(
    uow: UnitOfWork,
    viewer_id: int,
    filters: QueueFilters,
    now: datetime,
    *,
    catalogue: Catalogue,
    language: str,
    hxl: bool = False,
) -> ExportFiles:
    """Write the export files (the caller sends them, then calls `remove()`); audited.
    Formatted by `bot.engines.spreadsheets`, labels and times in the staff member's language
    and `TIMEZONE`; `hxl` adds the row of HXL hashtags under the header."""
    held = await require_moderator(uow, viewer_id)
    safeguarding = may_act(held, {Role.SAFEGUARDING})
    directory = Path(tempfile.mkdtemp(prefix="hiwar-export-"))
    stamp = now.strftime("%Y%m%d-%H%M")
    csv_path = directory / f"grievances-{stamp}.csv"
    xlsx_path = directory / f"grievances-{stamp}.xlsx"
    columns = export_columns(catalogue, language)
    book = Spreadsheet(timezone=catalogue.timezone, right_to_left=language == "ar", hxl=hxl)
    sheet = book.sheet("grievances", columns, [_TYPICAL_ROW])
    count = 0
    labels = Labels(catalogue, language)
    with csv_path.open("w", encoding="utf-8-sig", newline="") as handle:
        table = CsvTable(handle, columns, timezone=catalogue.timezone, hxl=hxl)
        async for row in export_rows(uow, filters, viewer_id, now, safeguarding, labels):
            table.append(row)
            sheet.append(row)
            count += 1
    book.save(xlsx_path)
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


# Widths of a streamed sheet are set before its rows: from a typical row's lengths.
_TYPICAL_ROW: list[CellValue] = [
    "HWR-2026-000000",
    "acknowledged",
    "Being reviewed",
    0,
    "Urgent and flagged",
    "public_services",
    "Public services and utilities",
    "salah_al_din",
    "Salah al-Din",
    "medium",
    "Soon (within days)",
    "threat violence",
    "threats, violence",
    "yes",
    "yes",
    1234567890,
    "HWR-2026-000000",
]
