"""What moderators do to a case (SPEC §4.1): assign, acknowledge, prioritise, move through the
statuses, note, reply, reject as duplicate or out of scope, close with a reason.

Every function re-reads the actor's roles (moderator; safeguarding for safeguarding cases),
checks the case version the actor saw (`expected_version`, carried by card buttons) and
refuses invalid transitions. Two moderators acting at once never corrupt a case: the
version column makes the later write fail (`CaseChanged`) instead of overwriting. Every
action is audited and the case's cards are refreshed in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm.exc import StaleDataError

from bot.engines.audit import record_action
from bot.engines.links import defang_links
from bot.engines.roles import Role, may_act, roles_of
from bot.grievances.cases import (
    MAX_STAFF_TEXT,
    RECORD_TYPE,
    GrievanceNotFound,
    NotPermitted,
    add_entry,
    change_status,
    grievance_by_reference,
    relay_staff_reply,
)
from bot.grievances.flow import GrievanceDesk
from bot.grievances.notices import refresh_cards
from bot.moderation.staff_names import name_of
from storage.database import UnitOfWork
from storage.models import Grievance

# Where a case may go from each status (SPEC §4.1). Closing and rejecting need a reason.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("acknowledged", "in_review", "escalated", "closed", "rejected"),
    "acknowledged": ("in_review", "escalated", "resolved", "closed", "rejected"),
    "in_review": ("escalated", "resolved", "closed", "rejected"),
    "escalated": ("in_review", "resolved", "closed", "rejected"),
    "resolved": ("closed", "in_review"),
    "closed": ("in_review",),
    "rejected": ("in_review",),
}
NEEDS_REASON = frozenset({"closed", "rejected"})
REJECT_REASONS = ("duplicate", "out_of_scope")
PRIORITIES = (0, 1, 2, 3)
MAX_REASON = 500


class NotStaff(Exception):
    """The actor holds no moderator role (any more)."""


class CaseChanged(Exception):
    """Someone else changed the case since the actor saw it; `state` is the current one."""

    def __init__(self, reference: str, state: CaseState | None = None) -> None:
        super().__init__(reference)
        self.reference = reference
        self.state = state


class InvalidTransition(Exception):
    def __init__(self, reference: str, current: str, wanted: str) -> None:
        super().__init__(reference)
        self.reference, self.current, self.wanted = reference, current, wanted


class ReasonRequired(Exception):
    pass


class InvalidChoice(ValueError):
    """A priority or reject reason outside the known values."""


class SameCase(Exception):
    """A case cannot be the duplicate of itself."""


@dataclass(frozen=True)
class CaseState:
    reference: str
    status: str
    priority: int
    assignee_id: int | None
    category: str
    safeguarding: bool
    urgency: str
    governorate: str
    version: int
    main_reference: str | None
    ack_due_at: datetime
    acknowledged_at: datetime | None
    created_at: datetime
    assignee_name: str | None = None

    def overdue(self, now: datetime) -> bool:
        return self.acknowledged_at is None and self.status == "new" and self.ack_due_at < now

    @property
    def next_statuses(self) -> tuple[str, ...]:
        return TRANSITIONS.get(self.status, ())


@dataclass(frozen=True)
class CaseOutcome:
    action: str
    state: CaseState
    old_status: str | None = None
    member_reachable: bool = True
    links_defanged: int = 0  # addresses made inert in a reply to the member


async def state_of(uow: UnitOfWork, grievance: Grievance) -> CaseState:
    main_reference = None
    if grievance.main_case_id is not None:
        main_reference = await uow.session.scalar(
            select(Grievance.reference).where(Grievance.id == grievance.main_case_id)
        )
    return CaseState(
        reference=grievance.reference,
        status=grievance.status,
        priority=grievance.priority,
        assignee_id=grievance.assignee_id,
        category=grievance.category,
        safeguarding=grievance.safeguarding,
        urgency=grievance.urgency,
        governorate=grievance.governorate,
        version=grievance.version,
        main_reference=main_reference,
        ack_due_at=grievance.ack_due_at,
        acknowledged_at=grievance.acknowledged_at,
        created_at=grievance.created_at,
        assignee_name=await name_of(uow, grievance.assignee_id),
    )


MARK = "_hiwar_changed_by"


def _mark(grievance: Grievance, actor_id: int) -> None:
    """Record that `actor_id` is changing the case (before anything is changed)."""
    if grievance.last_actor_id != actor_id or grievance.actor_since_version is None:
        grievance.last_actor_id = actor_id
        grievance.actor_since_version = grievance.version
    setattr(grievance, MARK, actor_id)


@event.listens_for(Grievance, "before_update")
def _unmarked_change(mapper: Any, connection: Any, target: Grievance) -> None:
    """A change by anyone else (the member, a task): no moderator continues on old buttons."""
    if getattr(target, MARK, None) is None:
        target.last_actor_id = None
        target.actor_since_version = None


def _still_theirs(grievance: Grievance, actor_id: int, seen: int) -> bool:
    """True if every change since version `seen` was made by `actor_id` alone."""
    if grievance.version == seen:
        return True
    since = grievance.actor_since_version
    return grievance.last_actor_id == actor_id and since is not None and since <= seen


async def require_moderator(uow: UnitOfWork, actor_id: int) -> frozenset[Role]:
    held = await roles_of(uow, actor_id)
    if not may_act(held, {Role.MODERATOR}):
        raise NotStaff(actor_id)
    return held


async def open_case_for(
    uow: UnitOfWork, reference: str, actor_id: int, expected_version: int | None = None
) -> Grievance:
    """The case, after the role, safeguarding and version checks."""
    held = await require_moderator(uow, actor_id)
    grievance = await grievance_by_reference(uow, reference)
    if grievance.safeguarding and not may_act(held, {Role.SAFEGUARDING}):
        raise NotPermitted(grievance.reference)
    if expected_version is not None and not _still_theirs(grievance, actor_id, expected_version):
        raise CaseChanged(grievance.reference, await state_of(uow, grievance))
    return grievance


async def open_case_to_change(
    uow: UnitOfWork, reference: str, actor_id: int, expected_version: int | None = None
) -> Grievance:
    """`open_case_for`, then mark the case as being changed by `actor_id`."""
    grievance = await open_case_for(uow, reference, actor_id, expected_version)
    _mark(grievance, actor_id)
    return grievance


async def current_state(uow: UnitOfWork, reference: str, actor_id: int) -> CaseState:
    return await state_of(uow, await open_case_for(uow, reference, actor_id))


async def _audit(
    uow: UnitOfWork,
    actor_id: int,
    action: str,
    grievance: Grievance,
    now: datetime,
    **details: object,
) -> None:
    await record_action(
        uow,
        actor_id=actor_id,
        action=action,
        record_type=RECORD_TYPE,
        record_id=grievance.reference,
        now=now,
        details=dict(details),
    )


async def _finish(
    uow: UnitOfWork, desk: GrievanceDesk, grievance: Grievance, now: datetime
) -> CaseState:
    """Write the change (a concurrent change makes this fail) and refresh the cards."""
    reference = grievance.reference
    try:
        await uow.session.flush()
        state = await state_of(uow, grievance)
        await refresh_cards(
            uow,
            grievance,
            now,
            catalogue=desk.catalogue,
            moderator_chat_id=desk.moderator_chat_id,
            default_language=desk.default_language,
        )
        await uow.session.flush()
    except StaleDataError:
        raise CaseChanged(reference) from None
    return state


def _clean_reason(reason: str | None) -> str:
    return (reason or "").strip()[:MAX_REASON]


async def assign_case(
    uow: UnitOfWork,
    desk: GrievanceDesk,
    reference: str,
    actor_id: int,
    now: datetime,
    *,
    expected_version: int | None = None,
) -> CaseOutcome:
    """Assign the case to the actor ("assign to me")."""
    try:
        grievance = await open_case_to_change(uow, reference, actor_id, expected_version)
        previous = grievance.assignee_id
        grievance.assignee_id = actor_id
        grievance.updated_at = now
        await _audit(uow, actor_id, "grievance.assign", grievance, now, previous=previous or 0)
        return CaseOutcome("assign", await _finish(uow, desk, grievance, now))
    except StaleDataError:
        raise CaseChanged(reference) from None


async def set_priority(
    uow: UnitOfWork,
    desk: GrievanceDesk,
    reference: str,
    priority: int,
    actor_id: int,
    now: datetime,
    *,
    expected_version: int | None = None,
) -> CaseOutcome:
    if priority not in PRIORITIES:
        raise InvalidChoice(str(priority))
    try:
        grievance = await open_case_to_change(uow, reference, actor_id, expected_version)
        previous = grievance.priority
        grievance.priority = priority
        grievance.updated_at = now
        await _audit(
            uow, actor_id, "grievance.priority", grievance, now, previous=previous, to=priority
        )
        return CaseOutcome("priority", await _finish(uow, desk, grievance, now))
    except StaleDataError:
        raise CaseChanged(reference) from None


async def _apply_status_change(
    uow: UnitOfWork,
    desk: GrievanceDesk,
    reference: str,
    new_status: str,
    reason: str,
    actor_id: int,
    now: datetime,
    *,
    action: str,
    expected_version: int | None = None,
    main_reference: str | None = None,
) -> CaseOutcome:
    """Load and check the case (and its main case), move it, audit, refresh the cards.

    `reason` is already cleaned; with `main_reference` the case is linked to that main case.
    """
    try:
        grievance = await open_case_to_change(uow, reference, actor_id, expected_version)
        main: Grievance | None = None
        if main_reference is not None:
            main = await open_case_for(uow, main_reference, actor_id)
            if main.id == grievance.id:
                raise SameCase(reference)
        if new_status not in TRANSITIONS.get(grievance.status, ()):
            raise InvalidTransition(grievance.reference, grievance.status, new_status)
        if new_status in NEEDS_REASON and not reason:
            raise ReasonRequired(new_status)
        old_status = grievance.status
        await change_status(
            uow, grievance.reference, new_status, actor_id, now, reason or None, cipher=desk.cipher
        )
        if main is not None:
            grievance.main_case_id = main.id
            await _audit(uow, actor_id, "grievance.duplicate", grievance, now, main=main.reference)
        elif new_status != "rejected":
            grievance.main_case_id = None
        state = await _finish(uow, desk, grievance, now)
        return CaseOutcome(action, state, old_status=old_status)
    except StaleDataError:
        raise CaseChanged(reference) from None


async def move_case(
    uow: UnitOfWork,
    desk: GrievanceDesk,
    reference: str,
    new_status: str,
    actor_id: int,
    now: datetime,
    *,
    reason: str | None = None,
    expected_version: int | None = None,
) -> CaseOutcome:
    """Change the status along SPEC §4.1; the member is told (by `change_status`)."""
    return await _apply_status_change(
        uow,
        desk,
        reference,
        new_status,
        _clean_reason(reason),
        actor_id,
        now,
        action="status",
        expected_version=expected_version,
    )


async def reject_case(
    uow: UnitOfWork,
    desk: GrievanceDesk,
    reference: str,
    why: str,
    actor_id: int,
    now: datetime,
    *,
    main_reference: str | None = None,
    note: str | None = None,
) -> CaseOutcome:
    """Reject as out of scope, or as a duplicate linked to its main case."""
    if why not in REJECT_REASONS or (why == "duplicate") != (main_reference is not None):
        raise InvalidChoice(why)
    return await _apply_status_change(
        uow,
        desk,
        reference,
        "rejected",
        _clean_reason(note) or why,
        actor_id,
        now,
        action="rejected",
        main_reference=main_reference,
    )


async def add_note(
    uow: UnitOfWork,
    desk: GrievanceDesk,
    reference: str,
    text: str,
    actor_id: int,
    now: datetime,
    *,
    expected_version: int | None = None,
) -> CaseOutcome:
    """A staff-only note on the case (sealed like every free text)."""
    cleaned = text.strip()[:MAX_STAFF_TEXT]
    if not cleaned:
        raise ReasonRequired("note")
    try:
        grievance = await open_case_to_change(uow, reference, actor_id, expected_version)
        entry = await add_entry(
            uow,
            grievance,
            kind="note",
            now=now,
            text=cleaned,
            actor_id=actor_id,
            cipher=desk.cipher,
        )
        grievance.updated_at = now
        await _audit(uow, actor_id, "grievance.note", grievance, now, entry_id=entry.id)
        return CaseOutcome("note", await _finish(uow, desk, grievance, now))
    except StaleDataError:
        raise CaseChanged(reference) from None


async def reply_to_member(
    uow: UnitOfWork,
    desk: GrievanceDesk,
    reference: str,
    text: str,
    actor_id: int,
    now: datetime,
    *,
    expected_version: int | None = None,
) -> CaseOutcome:
    """Relay a reply to the member (identity hidden both ways); staff are told if it fails.

    Links are made inert first (`bot.engines.links`): the member gets, and the case keeps,
    the defanged text; the audit log records how many addresses were changed.
    """
    cleaned, defanged = defang_links(text.strip())
    if not cleaned:
        raise ReasonRequired("reply")
    try:
        grievance = await open_case_to_change(uow, reference, actor_id, expected_version)
        relayed = await relay_staff_reply(
            uow, grievance.reference, cleaned, actor_id, now, cipher=desk.cipher
        )
        if defanged:
            await record_action(
                uow,
                actor_id=actor_id,
                action="grievance.reply_links_defanged",
                record_type=RECORD_TYPE,
                record_id=grievance.reference,
                now=now,
                details={"links": defanged},
            )
        state = await _finish(uow, desk, grievance, now)
        return CaseOutcome(
            "reply", state, member_reachable=relayed.member_reachable, links_defanged=defanged
        )
    except StaleDataError:
        raise CaseChanged(reference) from None


__all__ = [
    "CaseChanged",
    "CaseOutcome",
    "CaseState",
    "GrievanceNotFound",
    "InvalidChoice",
    "InvalidTransition",
    "NotPermitted",
    "NotStaff",
    "ReasonRequired",
    "SameCase",
]
