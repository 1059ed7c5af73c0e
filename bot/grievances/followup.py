"""What a member can do with their own reports (SPEC §3.4): list them, read one, add
information to an open one, appeal a closed one.

Every lookup goes through the reporter link, so a reference filed by another account, a
guessed one and a mistyped one all raise the same `GrievanceNotFound`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from bot.engines.field_encryption import FieldCipher
from bot.grievances.cases import (
    FINAL_STATUSES,
    OPEN_STATUSES,
    GrievanceNotFound,
    add_entry,
    apply_status,
)
from bot.grievances.policy import GrievancePolicy
from bot.grievances.references import parse_reference
from storage.database import UnitOfWork
from storage.models import Grievance, GrievanceEntry, GrievanceReporter

LIST_LIMIT = 20
REPLIES_SHOWN = 3


class ReportNotOpen(Exception):
    """Information can only be added to an open report."""


class AppealNotAllowed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "open", "expired" or "already"


@dataclass(frozen=True)
class OwnReportLine:
    reference: str
    category: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class StaffReply:
    text: str
    created_at: datetime


@dataclass(frozen=True)
class OwnReport:
    reference: str
    category: str
    status: str
    created_at: datetime
    ack_due_at: datetime
    acknowledged_at: datetime | None
    replies: tuple[StaffReply, ...]
    can_add: bool
    can_appeal: bool
    appeal_until: datetime | None


@dataclass(frozen=True)
class Addition:
    grievance_id: int
    reference: str
    category: str
    safeguarding: bool
    kind: str  # addition or appeal


async def list_own_reports(uow: UnitOfWork, user_id: int) -> list[OwnReportLine]:
    rows = await uow.session.execute(
        select(Grievance.reference, Grievance.category, Grievance.status, Grievance.created_at)
        .join(GrievanceReporter, GrievanceReporter.grievance_id == Grievance.id)
        .where(GrievanceReporter.user_id == user_id)
        .order_by(Grievance.created_at.desc(), Grievance.id.desc())
        .limit(LIST_LIMIT)
    )
    return [OwnReportLine(*row) for row in rows.tuples()]


async def _own_grievance(uow: UnitOfWork, user_id: int, reference: str | None) -> Grievance:
    canonical = parse_reference(reference)
    if canonical is None:
        raise GrievanceNotFound(reference)
    row = await uow.session.scalar(
        select(Grievance)
        .join(GrievanceReporter, GrievanceReporter.grievance_id == Grievance.id)
        .where(Grievance.reference == canonical, GrievanceReporter.user_id == user_id)
    )
    if row is None:
        raise GrievanceNotFound(reference)
    return row


def _appeal_until(grievance: Grievance, policy: GrievancePolicy) -> datetime | None:
    finished_at = grievance.closed_at or grievance.resolved_at
    if grievance.status not in FINAL_STATUSES or finished_at is None:
        return None
    return finished_at + policy.appeal_period


def _appeal_problem(grievance: Grievance, now: datetime, policy: GrievancePolicy) -> str | None:
    until = _appeal_until(grievance, policy)
    if until is None:
        return "open"
    finished_at = grievance.closed_at or grievance.resolved_at
    if grievance.appealed_at is not None and finished_at and grievance.appealed_at >= finished_at:
        return "already"
    if now > until:
        return "expired"
    return None


async def own_report(
    uow: UnitOfWork,
    user_id: int,
    reference: str | None,
    now: datetime,
    *,
    policy: GrievancePolicy,
    cipher: FieldCipher,
) -> OwnReport:
    grievance = await _own_grievance(uow, user_id, reference)
    replies = list(
        await uow.session.scalars(
            select(GrievanceEntry)
            .where(GrievanceEntry.grievance_id == grievance.id, GrievanceEntry.kind == "reply")
            .order_by(GrievanceEntry.created_at.desc(), GrievanceEntry.id.desc())
            .limit(REPLIES_SHOWN)
        )
    )
    return OwnReport(
        reference=grievance.reference,
        category=grievance.category,
        status=grievance.status,
        created_at=grievance.created_at,
        ack_due_at=grievance.ack_due_at,
        acknowledged_at=grievance.acknowledged_at,
        replies=tuple(
            StaffReply(cipher.open(entry.text or ""), entry.created_at)
            for entry in reversed(replies)
        ),
        can_add=grievance.status in OPEN_STATUSES,
        can_appeal=_appeal_problem(grievance, now, policy) is None,
        appeal_until=_appeal_until(grievance, policy),
    )


async def check_can_add(uow: UnitOfWork, user_id: int, reference: str | None) -> str:
    """The canonical reference if the member may add information to it now."""
    grievance = await _own_grievance(uow, user_id, reference)
    if grievance.status not in OPEN_STATUSES:
        raise ReportNotOpen(grievance.reference)
    return grievance.reference


async def check_can_appeal(
    uow: UnitOfWork, user_id: int, reference: str | None, now: datetime, policy: GrievancePolicy
) -> str:
    grievance = await _own_grievance(uow, user_id, reference)
    problem = _appeal_problem(grievance, now, policy)
    if problem is not None:
        raise AppealNotAllowed(problem)
    return grievance.reference


async def add_to_report(
    uow: UnitOfWork,
    user_id: int,
    reference: str,
    text: str | None,
    media: list[dict[str, str]],
    now: datetime,
    *,
    kind: str,
    policy: GrievancePolicy,
    cipher: FieldCipher,
    enforce: bool = True,
) -> Addition:
    """Append the member's addition (open report) or appeal (closed report, reopens it).

    With `enforce=False` (the member was allowed to start, and the case moved meanwhile)
    what they wrote is kept all the same: nothing a member sends is lost.
    """
    grievance = await _own_grievance(uow, user_id, reference)
    if kind == "appeal":
        problem = _appeal_problem(grievance, now, policy)
        if problem is not None and enforce:
            raise AppealNotAllowed(problem)
        previous = grievance.status
        grievance.appealed_at = now
        apply_status(grievance, "in_review", now)
        details = {"from": previous, "to": "in_review"}
    else:
        if grievance.status not in OPEN_STATUSES and enforce:
            raise ReportNotOpen(grievance.reference)
        grievance.updated_at = now
        details = {}
    await add_entry(
        uow, grievance, kind=kind, now=now, text=text, media=media, details=details, cipher=cipher
    )
    return Addition(
        grievance.id, grievance.reference, grievance.category, grievance.safeguarding, kind
    )
