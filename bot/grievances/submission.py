"""Filing a report (SPEC §3.4): a unique reference, risk flags, identity kept apart (§7).

The report, its reporter link and the staff cards are written in the unit of work of the
update that confirmed it, so the member is told the reference only after all of it has
committed, and a redelivered update cannot file it twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.engines.field_encryption import FieldCipher
from bot.grievances.cases import URGENCY_PRIORITY
from bot.grievances.directory import category
from bot.grievances.lexicon import RiskLexicon
from bot.grievances.policy import GrievancePolicy
from bot.grievances.references import new_reference
from storage.database import UnitOfWork
from storage.models import Grievance, GrievanceReporter

REFERENCE_ATTEMPTS = 20


class ReferenceSpaceExhausted(RuntimeError):
    """Twenty random references in a row were taken: something is badly wrong."""


@dataclass(frozen=True)
class ReportDraft:
    category: str
    governorate: str
    area: str | None
    description: str
    media: tuple[tuple[str, str], ...]
    urgency: str
    contactable: bool
    contact_details: str | None
    language: str


@dataclass(frozen=True)
class FiledReport:
    grievance_id: int
    reference: str
    category: str
    safeguarding: bool
    urgency: str
    risk_flags: tuple[str, ...]
    ack_due_at: datetime

    @property
    def needs_attention_now(self) -> bool:
        return self.urgency == "urgent" or bool(self.risk_flags)


async def reports_since(uow: UnitOfWork, user_id: int, since: datetime) -> int:
    count = await uow.session.scalar(
        select(func.count())
        .select_from(GrievanceReporter)
        .where(GrievanceReporter.user_id == user_id, GrievanceReporter.created_at >= since)
    )
    return int(count or 0)


async def next_report_allowed_at(
    uow: UnitOfWork, user_id: int, now: datetime, policy: GrievancePolicy
) -> datetime | None:
    """None if the member may file a report now; else when the hourly limit frees up."""
    window_start = now - timedelta(hours=1)
    times = list(
        await uow.session.scalars(
            select(GrievanceReporter.created_at)
            .where(
                GrievanceReporter.user_id == user_id,
                GrievanceReporter.created_at >= window_start,
            )
            .order_by(GrievanceReporter.created_at)
        )
    )
    if len(times) < policy.reports_per_hour:
        return None
    return times[len(times) - policy.reports_per_hour] + timedelta(hours=1)


async def _unused_reference(uow: UnitOfWork) -> str:
    for _ in range(REFERENCE_ATTEMPTS):
        reference = new_reference()
        taken = await uow.session.scalar(
            select(Grievance.id).where(Grievance.reference == reference)
        )
        if taken is None:
            return reference
    raise ReferenceSpaceExhausted


async def file_report(
    uow: UnitOfWork,
    user_id: int,
    draft: ReportDraft,
    now: datetime,
    *,
    policy: GrievancePolicy,
    cipher: FieldCipher,
    lexicon: RiskLexicon,
) -> FiledReport:
    """Store the report and its reporter link (the caller commits)."""
    reference = await _unused_reference(uow)
    risk_flags = tuple(lexicon.categories_in(f"{draft.description}\n{draft.area or ''}"))
    priority = URGENCY_PRIORITY.get(draft.urgency, 0) + (1 if risk_flags else 0)
    known = category(draft.category)
    grievance = Grievance(
        reference=reference,
        status="new",
        priority=priority,
        category=known.code,
        safeguarding=known.safeguarding,
        governorate=draft.governorate,
        area=cipher.seal_optional(draft.area),
        description=cipher.seal(draft.description),
        media=[{"kind": kind, "file_id": file_id} for kind, file_id in draft.media],
        urgency=draft.urgency,
        risk_flags=list(risk_flags),
        created_at=now,
        updated_at=now,
        ack_due_at=now + policy.ack_target(draft.urgency, bool(risk_flags)),
        card_dedupe_key=f"grievance-card:{reference}",
    )
    uow.session.add(grievance)
    await uow.session.flush()
    uow.session.add(
        GrievanceReporter(
            grievance_id=grievance.id,
            user_id=user_id,
            contactable=draft.contactable,
            contact_details=(
                cipher.seal_optional(draft.contact_details) if draft.contactable else None
            ),
            language=draft.language,
            created_at=now,
        )
    )
    await uow.session.flush()
    return FiledReport(
        grievance.id,
        reference,
        known.code,
        known.safeguarding,
        draft.urgency,
        risk_flags,
        grievance.ack_due_at,
    )
