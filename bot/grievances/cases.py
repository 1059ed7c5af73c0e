"""Grievances: what a case is, and what staff do to it (SPEC §3.4, §4.1, §7).

The moderation features build on these functions:

- `change_status(uow, ref, new_status, actor_id, now, reason)` and
  `relay_staff_reply(uow, ref, text, actor_id, now)` change a case, audit the action and
  queue the member's notification (a `grievances.notify_member` task that renders it in the
  member's language and puts it in the outbox);
- `case_details(...)` opens a case for a staff member (audited);
- `erase_member_grievances(uow, user_id, now)` is the /deletemydata hook;
- `purge_expired_identities(uow, now, retention)` is the retention purge.

Safeguarding cases (SPEC §4.1) can only be opened, answered or moved by staff holding the
safeguarding role (or admin); roles are read from the database on every call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from bot.engines.audit import record_action
from bot.engines.field_encryption import FieldCipher, active_cipher
from bot.engines.roles import Role, may_act, roles_of
from bot.engines.tasks import schedule_task
from bot.grievances.references import parse_reference
from storage import outbox
from storage.database import UnitOfWork
from storage.models import Grievance, GrievanceEntry, GrievanceReporter

OPEN_STATUSES = ("new", "acknowledged", "in_review", "escalated")
FINAL_STATUSES = ("resolved", "closed", "rejected")
STATUSES = OPEN_STATUSES + FINAL_STATUSES
URGENCIES = ("low", "medium", "urgent")
URGENCY_PRIORITY = {"low": 0, "medium": 1, "urgent": 2}
NOTIFY_MEMBER_TASK = "grievances.notify_member"
RECORD_TYPE = "grievance"
MAX_STAFF_TEXT = 3500
CASE_LINK_PREFIX = "grievance:"  # what a delivered member notification is remembered as


class GrievanceNotFound(Exception):
    """No such reference (or not one the caller may see): always the same answer."""


class NotPermitted(Exception):
    """A safeguarding case and the staff member is not safeguarding staff."""


class UnknownStatus(ValueError):
    pass


@dataclass(frozen=True)
class StatusChange:
    reference: str
    old_status: str
    new_status: str
    member_notified: bool


@dataclass(frozen=True)
class RelayedReply:
    reference: str
    member_reachable: bool


@dataclass(frozen=True)
class CaseEntry:
    kind: str
    text: str | None
    media: tuple[tuple[str, str], ...]
    created_at: datetime


@dataclass(frozen=True)
class CaseDetails:
    reference: str
    status: str
    category: str
    safeguarding: bool
    governorate: str
    area: str | None
    description: str
    media: tuple[tuple[str, str], ...]
    urgency: str
    risk_flags: tuple[str, ...]
    created_at: datetime
    ack_due_at: datetime
    contactable: bool
    contact_details: str | None
    reporter_user_id: int | None  # only when the member chose to be contactable
    entries: tuple[CaseEntry, ...]


def media_pairs(media: list[dict[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple((item["kind"], item["file_id"]) for item in media)


async def grievance_by_reference(uow: UnitOfWork, reference: str) -> Grievance:
    canonical = parse_reference(reference)
    if canonical is None:
        raise GrievanceNotFound(reference)
    row = await uow.session.scalar(select(Grievance).where(Grievance.reference == canonical))
    if row is None:
        raise GrievanceNotFound(reference)
    return row


async def reporter_of(uow: UnitOfWork, grievance_id: int) -> GrievanceReporter | None:
    return await uow.session.get(GrievanceReporter, grievance_id)


async def _require_access(uow: UnitOfWork, grievance: Grievance, actor_id: int | None) -> None:
    if not grievance.safeguarding or actor_id is None:
        return
    if not may_act(await roles_of(uow, actor_id), {Role.SAFEGUARDING}):
        raise NotPermitted(grievance.reference)


async def add_entry(
    uow: UnitOfWork,
    grievance: Grievance,
    *,
    kind: str,
    now: datetime,
    text: str | None = None,
    media: list[dict[str, str]] | None = None,
    actor_id: int | None = None,
    details: dict[str, Any] | None = None,
    cipher: FieldCipher | None = None,
) -> GrievanceEntry:
    entry = GrievanceEntry(
        grievance_id=grievance.id,
        kind=kind,
        actor_id=actor_id,
        text=(cipher or active_cipher()).seal_optional(text),
        media=list(media or []),
        details=details or {},
        created_at=now,
    )
    uow.session.add(entry)
    await uow.session.flush()
    return entry


async def _queue_member_notice(
    uow: UnitOfWork, grievance: Grievance, entry: GrievanceEntry, now: datetime
) -> bool:
    """Schedule the member's notification of `entry`; False when no reporter is linked."""
    if await reporter_of(uow, grievance.id) is None:
        return False
    await schedule_task(
        uow,
        kind=NOTIFY_MEMBER_TASK,
        payload={"entry_id": entry.id},
        due_at=now,
        now=now,
        dedupe_key=f"grievance-notify:{entry.id}",
    )
    return True


def apply_status(grievance: Grievance, new_status: str, now: datetime) -> None:
    """Move `grievance` to `new_status`, keeping the milestone times (first time only)."""
    grievance.status = new_status
    grievance.updated_at = now
    if new_status != "new" and grievance.acknowledged_at is None:
        grievance.acknowledged_at = now
    if new_status == "resolved" and grievance.resolved_at is None:
        grievance.resolved_at = now
    if new_status in ("closed", "rejected"):
        grievance.closed_at = now
    if new_status in OPEN_STATUSES:
        grievance.closed_at = None


async def _move_status(
    uow: UnitOfWork,
    grievance: Grievance,
    new_status: str,
    actor_id: int | None,
    now: datetime,
    reason: str | None,
    cipher: FieldCipher | None,
) -> GrievanceEntry:
    """Apply `new_status` and keep it on the case's history and in the audit log."""
    old_status = grievance.status
    apply_status(grievance, new_status, now)
    details = {"from": old_status, "to": new_status}
    entry = await add_entry(
        uow,
        grievance,
        kind="status",
        now=now,
        text=reason or None,
        actor_id=actor_id,
        details=details,
        cipher=cipher,
    )
    await record_action(
        uow,
        actor_id=actor_id,
        action="grievance.status",
        record_type=RECORD_TYPE,
        record_id=grievance.reference,
        now=now,
        details=details,
    )
    return entry


async def change_status(
    uow: UnitOfWork,
    ref: str,
    new_status: str,
    actor_id: int | None,
    now: datetime,
    reason: str | None = None,
    *,
    cipher: FieldCipher | None = None,
) -> StatusChange:
    """Move a case to `new_status`, audited; the member is told in their language."""
    if new_status not in STATUSES:
        raise UnknownStatus(new_status)
    grievance = await grievance_by_reference(uow, ref)
    await _require_access(uow, grievance, actor_id)
    old_status = grievance.status
    entry = await _move_status(uow, grievance, new_status, actor_id, now, reason, cipher)
    notified = old_status != new_status and await _queue_member_notice(uow, grievance, entry, now)
    return StatusChange(grievance.reference, old_status, new_status, notified)


async def relay_staff_reply(
    uow: UnitOfWork,
    ref: str,
    text: str,
    actor_id: int | None,
    now: datetime,
    *,
    cipher: FieldCipher | None = None,
) -> RelayedReply:
    """Keep a staff reply on the case (sealed) and queue it to the member, audited.

    The member never learns who replied; the staff member never learns who the member is.
    """
    grievance = await grievance_by_reference(uow, ref)
    await _require_access(uow, grievance, actor_id)
    entry = await add_entry(
        uow,
        grievance,
        kind="reply",
        now=now,
        text=text[:MAX_STAFF_TEXT],
        actor_id=actor_id,
        cipher=cipher,
    )
    grievance.updated_at = now
    if grievance.status == "new":
        # A reply acknowledges the case: status and timestamp move together (issue 18).
        await _move_status(uow, grievance, "acknowledged", actor_id, now, None, cipher)
    elif grievance.acknowledged_at is None:
        grievance.acknowledged_at = now
    await record_action(
        uow,
        actor_id=actor_id,
        action="grievance.reply",
        record_type=RECORD_TYPE,
        record_id=grievance.reference,
        now=now,
        details={"entry_id": entry.id},
    )
    reachable = await _queue_member_notice(uow, grievance, entry, now)
    return RelayedReply(grievance.reference, reachable)


async def case_details(
    uow: UnitOfWork,
    ref: str,
    viewer_id: int,
    now: datetime,
    *,
    cipher: FieldCipher | None = None,
) -> CaseDetails:
    """Everything staff may see of a case; the reporter only if they chose to be contactable."""
    cipher = cipher or active_cipher()
    grievance = await grievance_by_reference(uow, ref)
    await _require_access(uow, grievance, viewer_id)
    reporter = await reporter_of(uow, grievance.id)
    contactable = reporter is not None and reporter.contactable
    entries = await uow.session.scalars(
        select(GrievanceEntry)
        .where(GrievanceEntry.grievance_id == grievance.id)
        .order_by(GrievanceEntry.created_at, GrievanceEntry.id)
    )
    await record_action(
        uow,
        actor_id=viewer_id,
        action="grievance.view",
        record_type=RECORD_TYPE,
        record_id=grievance.reference,
        now=now,
    )
    return CaseDetails(
        reference=grievance.reference,
        status=grievance.status,
        category=grievance.category,
        safeguarding=grievance.safeguarding,
        governorate=grievance.governorate,
        area=cipher.open_optional(grievance.area),
        description=cipher.open(grievance.description),
        media=media_pairs(grievance.media),
        urgency=grievance.urgency,
        risk_flags=tuple(grievance.risk_flags),
        created_at=grievance.created_at,
        ack_due_at=grievance.ack_due_at,
        contactable=contactable,
        contact_details=(
            cipher.open_optional(reporter.contact_details) if reporter and contactable else None
        ),
        reporter_user_id=reporter.user_id if reporter and contactable else None,
        entries=tuple(
            CaseEntry(e.kind, cipher.open_optional(e.text), media_pairs(e.media), e.created_at)
            for e in entries
        ),
    )


async def erase_member_grievances(uow: UnitOfWork, user_id: int, now: datetime) -> int:
    """/deletemydata: unlink the member from every report and drop their contact details.

    The reports stay, anonymised, for statistics and for the cases staff are working on.
    Returns how many reports were unlinked.
    """
    result = await uow.session.execute(
        delete(GrievanceReporter).where(GrievanceReporter.user_id == user_id)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def purge_expired_identities(uow: UnitOfWork, now: datetime, retention: timedelta) -> int:
    """Remove identity links of reports closed (or rejected) longer than `retention` ago."""
    expired = select(Grievance.id).where(
        Grievance.status.in_(("closed", "rejected")),
        Grievance.closed_at.is_not(None),
        Grievance.closed_at < now - retention,
    )
    # The links from the member's chat to these cases go with the identity links.
    unlinked = list(
        await uow.session.scalars(
            select(GrievanceReporter.grievance_id).where(
                GrievanceReporter.grievance_id.in_(expired)
            )
        )
    )
    await outbox.forget_subjects(uow.session, [f"{CASE_LINK_PREFIX}{i}" for i in unlinked])
    result = await uow.session.execute(
        delete(GrievanceReporter).where(GrievanceReporter.grievance_id.in_(expired))
    )
    return int(getattr(result, "rowcount", 0) or 0)
