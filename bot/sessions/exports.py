"""/attendees: who holds a place, who waits, who came, and participation counts by gender,
age group and governorate; as text and as CSV/XLSX files.

No names are collected: a registrant is shown by their check-in code only. Counts of one to
four people are shown as "<5" so that no cell points at an individual.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from openpyxl import Workbook
from sqlalchemy import select

from bot.engines.audit import record_action
from bot.members.demographics import (
    AGE_GROUPS,
    GENDERS,
    GOVERNORATES,
    age_group_key,
    gender_key,
    governorate_key,
)
from bot.sessions.lifecycle import ACTIVE, CONFIRMED, WAITING, SessionView, get_session
from messages import Catalogue
from storage.database import UnitOfWork
from storage.models import Member, SessionRegistration

SMALL_CELL = 5
UNKNOWN = "unknown"


@dataclass(frozen=True)
class AttendeeRow:
    code: str
    status: str
    position: int
    registered_at: datetime
    checked_in_at: datetime | None


@dataclass(frozen=True)
class CountRow:
    dimension: str  # gender, age_group, governorate
    value: str
    registered: int
    attended: int


@dataclass(frozen=True)
class AttendeesReport:
    session: SessionView
    rows: tuple[AttendeeRow, ...]
    counts: tuple[CountRow, ...]

    @property
    def attended(self) -> int:
        return sum(1 for row in self.rows if row.checked_in_at is not None)


def suppressed(count: int) -> str:
    """The count as shown: "<5" for one to four people."""
    return f"<{SMALL_CELL}" if 0 < count < SMALL_CELL else str(count)


async def attendees_report(
    uow: UnitOfWork, session_id: int, *, actor_id: int, now: datetime
) -> AttendeesReport:
    """The report, audited as a staff action (the caller commits)."""
    view = await get_session(uow, session_id)
    await record_action(
        uow,
        actor_id=actor_id,
        action="session.attendees",
        record_type="session",
        record_id=str(session_id),
        now=now,
    )
    result = await uow.session.execute(
        select(SessionRegistration, Member.gender, Member.age_group, Member.governorate)
        .outerjoin(Member, Member.user_id == SessionRegistration.user_id)
        .where(
            SessionRegistration.session_id == session_id,
            SessionRegistration.status.in_(ACTIVE),
        )
        .order_by(
            SessionRegistration.status, SessionRegistration.queued_at, SessionRegistration.id
        )
    )
    rows: list[AttendeeRow] = []
    tallies: dict[tuple[str, str], list[int]] = {}
    position = 0
    for registration, gender, age_group, governorate in result.tuples():
        if registration.status == WAITING:
            position += 1
        rows.append(
            AttendeeRow(
                registration.code,
                registration.status,
                position if registration.status == WAITING else 0,
                registration.registered_at,
                registration.checked_in_at,
            )
        )
        if registration.status != CONFIRMED:
            continue
        for dimension, value in (
            ("gender", gender),
            ("age_group", age_group),
            ("governorate", governorate),
        ):
            tally = tallies.setdefault((dimension, value or UNKNOWN), [0, 0])
            tally[0] += 1
            tally[1] += int(registration.checked_in_at is not None)
    order = {
        "gender": (*GENDERS, UNKNOWN),
        "age_group": (*AGE_GROUPS, UNKNOWN),
        "governorate": (*GOVERNORATES, UNKNOWN),
    }
    counts = tuple(
        CountRow(dimension, value, *tallies[(dimension, value)])
        for dimension, values in order.items()
        for value in values
        if (dimension, value) in tallies
    )
    return AttendeesReport(view, tuple(rows), counts)


def value_label(catalogue: Catalogue, language: str, dimension: str, value: str) -> str:
    if value == UNKNOWN:
        return catalogue.plain(language, "sessions.export.unknown")
    key = {"gender": gender_key, "age_group": age_group_key, "governorate": governorate_key}
    return catalogue.plain(language, key[dimension](value))


def _local(moment: datetime | None, catalogue: Catalogue) -> str:
    return (
        "" if moment is None else moment.astimezone(catalogue.timezone).strftime("%Y-%m-%d %H:%M")
    )


def _table(
    report: AttendeesReport, catalogue: Catalogue, language: str
) -> tuple[list[str], list[list[str | int]]]:
    def label(key: str) -> str:
        return catalogue.plain(language, f"sessions.export.{key}")

    header = [
        label(key)
        for key in ("session", "code", "status", "position", "registered_at", "checked_in_at")
    ]
    title = report.session.title(language)
    body: list[list[str | int]] = [
        [
            title,
            row.code,
            label(f"status_{row.status}"),
            row.position or "",
            _local(row.registered_at, catalogue),
            _local(row.checked_in_at, catalogue),
        ]
        for row in report.rows
    ]
    return header, body


def attendees_csv(report: AttendeesReport, catalogue: Catalogue, language: str) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens Arabic text correctly."""
    header, body = _table(report, catalogue, language)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(body)
    return buffer.getvalue().encode("utf-8-sig")


def attendees_xlsx(report: AttendeesReport, catalogue: Catalogue, language: str) -> bytes:
    header, body = _table(report, catalogue, language)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "attendees"
    sheet.sheet_view.rightToLeft = language == "ar"
    sheet.append(header)
    for row in body:
        sheet.append(row)
    counts = workbook.create_sheet("counts")
    counts.sheet_view.rightToLeft = language == "ar"
    counts.append(
        [
            catalogue.plain(language, f"sessions.export.{key}")
            for key in ("dimension", "value", "registered", "attended")
        ]
    )
    for count in report.counts:
        counts.append(
            [
                catalogue.plain(language, f"sessions.export.dimension_{count.dimension}"),
                value_label(catalogue, language, count.dimension, count.value),
                suppressed(count.registered),
                suppressed(count.attended),
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
