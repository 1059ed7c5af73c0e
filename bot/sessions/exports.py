"""/attendees: who holds a place, who waits, who came, and participation counts by gender,
age group and governorate; as text and as CSV/XLSX files.

No names are collected: a registrant is shown by their check-in code only. The participation
counts go through `bot.engines.disclosure` (the three breakdowns together, with "did not
attend" as an unpublished cell): counts of one to four people are shown as "<5", and the
counts that would reveal them as "hidden", so that no cell points at an individual.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from bot.engines.audit import record_action
from bot.engines.disclosure import Figure, TableInput, Wording, protect_tables
from bot.engines.spreadsheets import CellValue, Column, Spreadsheet, csv_bytes
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
    registered: Figure
    attended: Figure


@dataclass(frozen=True)
class AttendeesReport:
    session: SessionView
    rows: tuple[AttendeeRow, ...]
    counts: tuple[CountRow, ...]

    @property
    def attended(self) -> int:
        return sum(1 for row in self.rows if row.checked_in_at is not None)


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
    return AttendeesReport(view, tuple(rows), protected_counts(tallies, order))


def protected_counts(
    tallies: dict[tuple[str, str], list[int]], order: dict[str, tuple[str, ...]]
) -> tuple[CountRow, ...]:
    """Registered and attended per group, the three breakdowns suppressed together."""
    groups = {
        dimension: [value for value in values if (dimension, value) in tallies]
        for dimension, values in order.items()
    }
    tables = []
    for dimension, values in groups.items():
        cells = [
            [tallies[(dimension, v)][1], tallies[(dimension, v)][0] - tallies[(dimension, v)][1]]
            for v in values
        ]
        tables.append(TableInput(cells, [tallies[(dimension, v)][0] for v in values]))
    registered = sum(
        tally[0] for (dimension, _), tally in tallies.items() if dimension == "gender"
    )
    attended = sum(tally[1] for (dimension, _), tally in tallies.items() if dimension == "gender")
    protected = protect_tables(
        tables,
        [attended, registered - attended],
        registered,
        public_column_totals=True,  # the summary shows how many registered and checked in
        undisplayed_columns=frozenset({1}),
    )
    return tuple(
        CountRow(dimension, value, table.row_totals[index], table.cells[index][0])
        for (dimension, values), table in zip(groups.items(), protected.tables, strict=True)
        for index, value in enumerate(values)
    )


def value_label(catalogue: Catalogue, language: str, dimension: str, value: str) -> str:
    if value == UNKNOWN:
        return catalogue.plain(language, "sessions.export.unknown")
    key = {"gender": gender_key, "age_group": age_group_key, "governorate": governorate_key}
    return catalogue.plain(language, key[dimension](value))


def figure_cell(figure: Figure, words: Wording) -> int | str:
    """A released count as a spreadsheet cell: a number, or the reader's "<5"/"hidden"."""
    return figure.value if figure.value is not None and not figure.hidden else words.of(figure)


def _columns(catalogue: Catalogue, language: str) -> list[Column]:
    def label(key: str) -> str:
        return catalogue.plain(language, f"sessions.export.{key}")

    return [
        Column(
            catalogue.plain(language, "sessions.export_more.session_id"), "number", "#event+id"
        ),
        Column(label("session"), "text", "#event+name"),
        Column(label("code"), "text", "#code"),
        Column("status", "code", "#status+code"),
        Column(label("status"), "label", "#status+name"),
        Column(label("position"), "number", "#indicator+position"),
        Column(label("registered_at"), "datetime", "#date+registered"),
        Column(label("checked_in_at"), "datetime", "#date+attended"),
    ]


def _rows(report: AttendeesReport, catalogue: Catalogue, language: str) -> list[list[CellValue]]:
    title = report.session.title(language)
    return [
        [
            report.session.id,
            title,
            row.code,
            row.status,
            catalogue.plain(language, f"sessions.export.status_{row.status}"),
            row.position or None,
            row.registered_at,
            row.checked_in_at,
        ]
        for row in report.rows
    ]


def attendees_csv(report: AttendeesReport, catalogue: Catalogue, language: str) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens Arabic text correctly."""
    return csv_bytes(
        _columns(catalogue, language),
        _rows(report, catalogue, language),
        timezone=catalogue.timezone,
    )


def attendees_xlsx(
    report: AttendeesReport, catalogue: Catalogue, language: str, words: Wording
) -> bytes:
    """Two sheets (attendees, counts), formatted by `bot.engines.spreadsheets`."""

    def label(key: str) -> str:
        return catalogue.plain(language, f"sessions.export.{key}")

    book = Spreadsheet(timezone=catalogue.timezone, right_to_left=language == "ar")
    book.table("attendees", _columns(catalogue, language), _rows(report, catalogue, language))
    count_columns = [
        Column("dimension", "code"),
        Column(label("dimension"), "label"),
        Column("value", "code"),
        Column(label("value"), "label"),
        Column(label("registered"), "number"),
        Column(label("attended"), "number"),
    ]
    book.table(
        "counts",
        count_columns,
        [
            [
                count.dimension,
                label(f"dimension_{count.dimension}"),
                count.value,
                value_label(catalogue, language, count.dimension, count.value),
                figure_cell(count.registered, words),
                figure_cell(count.attended, words),
            ]
            for count in report.counts
        ],
    )
    return book.to_bytes()
