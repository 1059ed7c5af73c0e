"""Needs surveys (SPEC §3.3, §4.2): import an XLSForm, publish, close, and open one for a member.

A survey is imported as a draft (its parsed form stored as JSON), published to make it open to
members, and closed to stop new answers. Every organiser action is audited. Members open an
open survey by /survey or a `?start=v<ID>` link; an unfinished pass is resumed where the
member stopped, and a finished response is revised with the earlier answers pre-filled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select

from bot.engines import flows
from bot.engines.audit import record_action
from bot.engines.flows import SELECTED, FlowRegistry, FlowReply
from bot.surveys.flow import ANSWERS, FLOW_NAME, RESUME, SURVEY_ID
from bot.surveys.responses import (
    discard_unsent_answers,
    member_answers,
    save_draft,
    surveys_answered_by,
)
from bot.surveys.xlsform.form import QuestionType, SurveyForm
from bot.surveys.xlsform.reading import ReadForm
from storage import flows as flow_store
from storage.database import UnitOfWork
from storage.models import Survey, SurveyResponse

LIST_LIMIT = 30


class SurveyStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class SurveyNotFound(LookupError):
    pass


class SurveyClosed(Exception):
    pass


@dataclass(frozen=True)
class SurveySummary:
    id: int
    form_id: str
    title_en: str
    title_ar: str
    status: SurveyStatus
    responses: int
    created_at: datetime
    published_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True)
class MemberSurvey:
    id: int
    title_en: str
    title_ar: str
    answered: bool


class Opening(StrEnum):
    STARTED = "started"
    RESUMED = "resumed"
    REVISING = "revising"


@dataclass(frozen=True)
class OpenedSurvey:
    how: Opening
    title_en: str
    title_ar: str
    reply: FlowReply


async def _summary(uow: UnitOfWork, survey: Survey) -> SurveySummary:
    responses = await uow.session.scalar(
        select(func.count())
        .select_from(SurveyResponse)
        .where(SurveyResponse.survey_id == survey.id, SurveyResponse.submitted_at.is_not(None))
    )
    return SurveySummary(
        survey.id,
        survey.form_id,
        survey.title_en,
        survey.title_ar,
        SurveyStatus(survey.status),
        int(responses or 0),
        survey.created_at,
        survey.published_at,
        survey.closed_at,
    )


async def _get(uow: UnitOfWork, survey_id: int) -> Survey:
    survey = await uow.session.get(Survey, survey_id)
    if survey is None:
        raise SurveyNotFound(survey_id)
    return survey


async def get_survey(uow: UnitOfWork, survey_id: int) -> SurveySummary:
    return await _summary(uow, await _get(uow, survey_id))


async def import_survey(
    uow: UnitOfWork,
    read: ReadForm,
    *,
    actor_id: int | None,
    source_name: str | None,
    now: datetime,
) -> SurveySummary:
    """Store a checked form as a draft survey. Audited."""
    form = read.form
    survey = Survey(
        form_id=form.form_id,
        title_en=form.titles["en"],
        title_ar=form.titles["ar"],
        status=SurveyStatus.DRAFT.value,
        definition=form.to_json(),
        source_name=(source_name or "")[:200] or None,
        created_by=actor_id,
        created_at=now,
    )
    uow.session.add(survey)
    await uow.session.flush()
    await record_action(
        uow,
        actor_id=actor_id,
        action="survey.import",
        record_type="survey",
        record_id=str(survey.id),
        details={"questions": len(form.questions), "warnings": len(read.warnings)},
        now=now,
    )
    return await _summary(uow, survey)


async def survey_with_form(uow: UnitOfWork, survey_id: int) -> tuple[SurveySummary, SurveyForm]:
    survey = await _get(uow, survey_id)
    return await _summary(uow, survey), SurveyForm.from_json(survey.definition)


async def _set_status(
    uow: UnitOfWork, survey_id: int, status: SurveyStatus, actor_id: int | None, now: datetime
) -> SurveySummary:
    survey = await _get(uow, survey_id)
    if survey.status != status.value:
        survey.status = status.value
        if status is SurveyStatus.OPEN:
            survey.published_at = now
            survey.closed_at = None
        else:
            survey.closed_at = now
        await record_action(
            uow,
            actor_id=actor_id,
            action="survey.publish" if status is SurveyStatus.OPEN else "survey.close",
            record_type="survey",
            record_id=str(survey_id),
            now=now,
        )
        await uow.session.flush()
    return await _summary(uow, survey)


async def publish_survey(
    uow: UnitOfWork, survey_id: int, *, actor_id: int | None, now: datetime
) -> SurveySummary:
    """Open a draft (or reopen a closed survey) to members. Audited."""
    return await _set_status(uow, survey_id, SurveyStatus.OPEN, actor_id, now)


async def close_survey(
    uow: UnitOfWork, survey_id: int, *, actor_id: int | None, now: datetime
) -> SurveySummary:
    """Stop new answers; members already answering may still submit. Audited."""
    return await _set_status(uow, survey_id, SurveyStatus.CLOSED, actor_id, now)


async def list_surveys(uow: UnitOfWork) -> list[SurveySummary]:
    rows = await uow.session.scalars(select(Survey).order_by(Survey.id.desc()).limit(LIST_LIMIT))
    return [await _summary(uow, row) for row in rows]


async def open_surveys_for(uow: UnitOfWork, user_id: int) -> list[MemberSurvey]:
    rows = await uow.session.execute(
        select(Survey.id, Survey.title_en, Survey.title_ar)
        .where(Survey.status == SurveyStatus.OPEN.value)
        .order_by(Survey.id.desc())
        .limit(LIST_LIMIT)
    )
    answered = await surveys_answered_by(uow, user_id)
    return [MemberSurvey(i, en, ar, i in answered) for i, en, ar in rows.tuples()]


async def open_survey_for_member(
    uow: UnitOfWork, registry: FlowRegistry, user_id: int, survey_id: int, now: datetime
) -> OpenedSurvey:
    """Start, resume or revise the member's response; raises SurveyNotFound / SurveyClosed."""
    survey = await uow.session.get(Survey, survey_id)
    if survey is None or survey.status == SurveyStatus.DRAFT.value:
        raise SurveyNotFound(survey_id)
    stored = await flow_store.load_flow(uow.session, user_id)
    in_survey = stored is not None and stored.flow == FLOW_NAME
    if in_survey and stored is not None and stored.data.get(SURVEY_ID) == survey_id:
        reply = await flows.current_prompt(uow, registry, user_id)
        if reply is not None:
            return OpenedSurvey(Opening.RESUMED, survey.title_en, survey.title_ar, reply)
    if survey.status != SurveyStatus.OPEN.value:
        raise SurveyClosed(survey_id)
    if in_survey and stored is not None:
        # Leaving another survey half-way: keep its answers as a draft to resume later.
        await save_draft(
            uow,
            int(stored.data[SURVEY_ID]),
            user_id,
            dict(stored.data.get(ANSWERS, {})),
            stored.step,
            now,
        )
    earlier = await member_answers(uow, survey_id, user_id)
    form = SurveyForm.from_json(survey.definition)
    selections = {
        q.name: earlier.answers[q.name].split()
        for q in form.questions
        if q.type is QuestionType.SELECT_MULTIPLE and q.name in earlier.answers
    }
    data = {
        SURVEY_ID: survey_id,
        ANSWERS: earlier.answers,
        SELECTED: selections,
        RESUME: earlier.resume_step,
    }
    reply = await flows.start_flow(uow, registry, user_id, FLOW_NAME, now, data)
    if earlier.resume_step is not None:
        how = Opening.RESUMED
    else:
        how = Opening.REVISING if earlier.submitted else Opening.STARTED
    return OpenedSurvey(how, survey.title_en, survey.title_ar, reply)


async def stop_survey(uow: UnitOfWork, user_id: int, now: datetime, *, keep: bool) -> bool:
    """End the member's survey in progress: `keep` its answers to resume later via /survey,
    or discard the answers not yet sent. False if the member is not answering a survey."""
    stored = await flow_store.load_flow(uow.session, user_id)
    if stored is None or stored.flow != FLOW_NAME:
        return False
    survey_id = int(stored.data[SURVEY_ID])
    if keep:
        answers = dict(stored.data.get(ANSWERS, {}))
        await save_draft(uow, survey_id, user_id, answers, stored.step, now)
    else:
        await discard_unsent_answers(uow, survey_id, user_id)
    await flow_store.clear_flow(uow.session, user_id)
    return True
