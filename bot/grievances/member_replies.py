"""A member's answer to staff reaches the case (issue 18).

A message the member sends outside any conversation is offered to a case when

- it is a Telegram reply to a notification the bot relayed about one of their reports
  (each delivered notification is remembered as ``grievance:<id>`` by the outbox, under a
  sealed key of chat and message id), or
- one of their open reports awaits their answer: its latest exchange is a staff reply, sent
  less than `ANSWER_WINDOW` ago, that the member has not answered yet.

Only the member's own reports count: every look-up goes through the reporter link, which
/deletemydata and the retention purge remove. Nothing is attached until the member confirms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.grievances.cases import CASE_LINK_PREFIX, OPEN_STATUSES
from storage import outbox
from storage.database import UnitOfWork
from storage.models import Grievance, GrievanceEntry, GrievanceReporter

ANSWER_WINDOW = timedelta(days=14)
EXCHANGE_KINDS = ("reply", "addition", "appeal")


@dataclass(frozen=True)
class AnswerTarget:
    reference: str
    open: bool
    replied_to: bool  # found through the message the member replied to


async def _own_case(uow: UnitOfWork, user_id: int, grievance_id: int) -> Grievance | None:
    grievance: Grievance | None = await uow.session.scalar(
        select(Grievance)
        .join(GrievanceReporter, GrievanceReporter.grievance_id == Grievance.id)
        .where(Grievance.id == grievance_id, GrievanceReporter.user_id == user_id)
    )
    return grievance


async def case_replied_to(uow: UnitOfWork, user_id: int, message_id: int) -> Grievance | None:
    """The member's case the bot's message `message_id` in their chat was about."""
    subject = await outbox.subject_of_sent(uow.session, user_id, message_id)
    if subject is None or not subject.startswith(CASE_LINK_PREFIX):
        return None
    raw_id = subject.removeprefix(CASE_LINK_PREFIX)
    if not raw_id.isdigit():
        return None
    return await _own_case(uow, user_id, int(raw_id))


async def case_awaiting_answer(uow: UnitOfWork, user_id: int, now: datetime) -> Grievance | None:
    """The member's open case whose latest exchange is a recent staff reply (the newest)."""
    candidates = await uow.session.execute(
        select(Grievance, GrievanceEntry.created_at)
        .join(GrievanceReporter, GrievanceReporter.grievance_id == Grievance.id)
        .join(GrievanceEntry, GrievanceEntry.grievance_id == Grievance.id)
        .where(
            GrievanceReporter.user_id == user_id,
            Grievance.status.in_(OPEN_STATUSES),
            GrievanceEntry.kind == "reply",
            GrievanceEntry.created_at >= now - ANSWER_WINDOW,
        )
        .order_by(GrievanceEntry.created_at.desc(), GrievanceEntry.id.desc())
    )
    seen: set[int] = set()
    for grievance, replied_at in candidates.tuples():
        if grievance.id in seen:
            continue
        seen.add(grievance.id)
        answered = await uow.session.scalar(
            select(GrievanceEntry.id)
            .where(
                GrievanceEntry.grievance_id == grievance.id,
                GrievanceEntry.kind.in_(("addition", "appeal")),
                GrievanceEntry.created_at >= replied_at,
            )
            .limit(1)
        )
        if answered is None:
            return grievance
    return None


async def answer_target(
    uow: UnitOfWork, user_id: int, replied_to_message_id: int | None, now: datetime
) -> AnswerTarget | None:
    """Which of the member's cases a message they sent outside a conversation answers."""
    if replied_to_message_id is not None:
        replied = await case_replied_to(uow, user_id, replied_to_message_id)
        if replied is not None:
            return AnswerTarget(replied.reference, replied.status in OPEN_STATUSES, True)
    awaiting = await case_awaiting_answer(uow, user_id, now)
    if awaiting is not None:
        return AnswerTarget(awaiting.reference, True, False)
    return None
