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
from bot.grievances.notices import StaffTarget, current_card, remember_copy
from bot.moderation.actions import CaseState, open_case_for, state_of
from bot.moderation.audit_browsing import AuditPage, browse_audit
from bot.moderation.staff_names import name_of
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
    *,
    back: Button | None = None,
    chat_id: int | None = None,
    message_id: int | None = None,
) -> CaseCard:
    """The card of a case as it stands, with fresh buttons (audited as a view).

    With `message_id` the card replaces that message (a queue opened on a case) and the
    copy is remembered at once, so that it is edited whenever the case changes."""
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
        assignee_name=await name_of(uow, grievance.assignee_id),
        back=back,
    )
    if chat_id is not None and message_id is not None:
        await remember_copy(
            uow,
            grievance.id,
            chat_id,
            language,
            "full",
            now,
            message_id=message_id,
            back=back.callback_data if back is not None else None,
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


async def remember_sent_card(
    uow: UnitOfWork, reference: str, chat_id: int, message_id: int, language: str, now: datetime
) -> None:
    """A card answered directly (/case, "Open the case"): keep it true from now on."""
    grievance_id = await uow.session.scalar(
        select(Grievance.id).where(Grievance.reference == reference)
    )
    if grievance_id is not None:
        await remember_copy(
            uow, grievance_id, chat_id, language, "full", now, message_id=message_id
        )
