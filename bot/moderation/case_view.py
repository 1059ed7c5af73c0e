"""Reading a case for staff: its live card (/case) and its audit trail (/audit GR-…).

Both re-read the viewer's roles and refuse safeguarding cases to non-safeguarding staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from bot.engines.audit import record_action
from bot.engines.outbox import Button
from bot.grievances.cases import RECORD_TYPE, reporter_of
from bot.grievances.flow import GrievanceDesk
from bot.grievances.notices import StaffTarget, current_card
from bot.moderation.actions import CaseState, open_case_for, state_of
from bot.moderation.audit_browsing import AuditPage, browse_audit
from storage.database import UnitOfWork
from storage.models import Grievance


@dataclass(frozen=True)
class CaseCard:
    state: CaseState
    text: str
    buttons: list[list[Button]]


async def case_card(
    uow: UnitOfWork,
    desk: GrievanceDesk,
    reference: str,
    viewer_id: int,
    language: str,
    now: datetime,
) -> CaseCard:
    """The card of a case as it stands, with fresh buttons (audited as a view)."""
    grievance = await open_case_for(uow, reference, viewer_id)
    reporter = await reporter_of(uow, grievance.id)
    main_reference = None
    if grievance.main_case_id is not None:
        main_reference = await uow.session.scalar(
            select(Grievance.reference).where(Grievance.id == grievance.main_case_id)
        )
    text, buttons = current_card(
        desk.catalogue,
        grievance,
        StaffTarget(viewer_id, True, language),
        now,
        contactable=reporter is not None and reporter.contactable,
        main_reference=main_reference,
    )
    await record_action(
        uow,
        actor_id=viewer_id,
        action="grievance.card",
        record_type=RECORD_TYPE,
        record_id=grievance.reference,
        now=now,
    )
    return CaseCard(await state_of(uow, grievance), text, buttons)


async def case_audit(
    uow: UnitOfWork, reference: str, viewer_id: int, before_id: int | None = None
) -> AuditPage:
    """Who did what to one case, newest first."""
    grievance = await open_case_for(uow, reference, viewer_id)
    return await browse_audit(
        uow, record_type=RECORD_TYPE, record_id=grievance.reference, before_id=before_id
    )
