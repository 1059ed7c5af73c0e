"""Storing survey responses: one per member per survey, revisable, erasable (SPEC §3.3, §3.1).

A submitted response replaces the member's earlier one (a revision). An unfinished pass that
the member leaves for another survey is kept as a draft on the response row, and resumed
from there. Erasure unlinks responses from the member: the answers stay, anonymous, for
statistics; unsubmitted drafts are deleted.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from storage.database import UnitOfWork
from storage.models import SurveyAnswer, SurveyResponse


@dataclass(frozen=True)
class SavedResponse:
    response_uid: str
    revised: bool


@dataclass(frozen=True)
class MemberAnswers:
    """What a member already gave for a survey: a saved draft, or their submitted answers."""

    answers: dict[str, str]
    resume_step: str | None
    submitted: bool


async def _response_row(uow: UnitOfWork, survey_id: int, user_id: int) -> SurveyResponse | None:
    row: SurveyResponse | None = await uow.session.scalar(
        select(SurveyResponse).where(
            SurveyResponse.survey_id == survey_id, SurveyResponse.user_id == user_id
        )
    )
    return row


def _new_row(survey_id: int, user_id: int, now: datetime) -> SurveyResponse:
    return SurveyResponse(
        survey_id=survey_id,
        user_id=user_id,
        response_uid=secrets.token_hex(16),
        started_at=now,
        revisions=0,
    )


async def submit_response(
    uow: UnitOfWork,
    survey_id: int,
    user_id: int,
    answers: dict[str, str],
    now: datetime,
    *,
    deviceid_key: str | None = None,
) -> SavedResponse:
    """Store the member's answers as their one response, replacing an earlier submission.

    `deviceid_key` names the form's `deviceid` question: it gets a pseudonymous id made from
    the response's random id (stable across revisions, unlinkable to the member or to their
    other responses; never a Telegram id or username)."""
    row = await _response_row(uow, survey_id, user_id)
    if row is None:
        row = _new_row(survey_id, user_id, now)
        uow.session.add(row)
        await uow.session.flush()
    if deviceid_key is not None:
        answers = {**answers, deviceid_key: f"hiwar:{row.response_uid[:16]}"}
    revised = row.submitted_at is not None
    if revised:
        row.revisions += 1
    await uow.session.execute(delete(SurveyAnswer).where(SurveyAnswer.response_id == row.id))
    uow.session.add_all(
        SurveyAnswer(response_id=row.id, name=name, value=value) for name, value in answers.items()
    )
    row.submitted_at = now
    row.draft = None
    await uow.session.flush()
    return SavedResponse(row.response_uid, revised)


async def save_draft(
    uow: UnitOfWork,
    survey_id: int,
    user_id: int,
    answers: dict[str, str],
    step: str,
    now: datetime,
) -> None:
    """Keep an unfinished pass (the member moved on to another survey) to resume later."""
    row = await _response_row(uow, survey_id, user_id)
    if row is None:
        row = _new_row(survey_id, user_id, now)
        uow.session.add(row)
    row.draft = {"answers": dict(answers), "step": step}
    await uow.session.flush()


async def member_answers(uow: UnitOfWork, survey_id: int, user_id: int) -> MemberAnswers:
    row = await _response_row(uow, survey_id, user_id)
    if row is None:
        return MemberAnswers({}, None, submitted=False)
    submitted = row.submitted_at is not None
    if row.draft:
        draft: dict[str, Any] = dict(row.draft)
        return MemberAnswers(dict(draft.get("answers", {})), draft.get("step"), submitted)
    values = await uow.session.execute(
        select(SurveyAnswer.name, SurveyAnswer.value).where(SurveyAnswer.response_id == row.id)
    )
    return MemberAnswers(dict(values.tuples().all()), None, submitted)


async def surveys_answered_by(uow: UnitOfWork, user_id: int) -> set[int]:
    rows = await uow.session.scalars(
        select(SurveyResponse.survey_id).where(
            SurveyResponse.user_id == user_id, SurveyResponse.submitted_at.is_not(None)
        )
    )
    return set(rows)


async def erase_member_survey_data(uow: UnitOfWork, user_id: int, now: datetime) -> None:
    """Unlink the member from their responses (kept anonymously); drop unsubmitted drafts."""
    await uow.session.execute(
        delete(SurveyResponse).where(
            SurveyResponse.user_id == user_id, SurveyResponse.submitted_at.is_(None)
        )
    )
    await uow.session.execute(
        update(SurveyResponse)
        .where(SurveyResponse.user_id == user_id)
        .values(user_id=None, draft=None, language=None)
    )


async def discard_unsent_answers(uow: UnitOfWork, survey_id: int, user_id: int) -> None:
    """Forget the member's answers not yet sent; answers sent earlier stay as they were."""
    row = await _response_row(uow, survey_id, user_id)
    if row is None:
        return
    if row.submitted_at is None:
        await uow.session.delete(row)
    else:
        row.draft = None
    await uow.session.flush()
