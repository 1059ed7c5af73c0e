"""Who an announcement reaches (SPEC §3.5, §4.2).

The base audience is every member who consented, is subscribed and has not blocked the bot;
each chosen filter narrows it (several filters = their intersection). Filters are kinds in
`AUDIENCE_KINDS`, each a function from the chosen value to a condition on `members`, so a
feature can add a kind with one `register_audience_kind(...)` call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select

from storage.database import UnitOfWork
from storage.models import DialogueSession, Member, SessionRegistration, Survey, SurveyResponse

LANGUAGES = ("ar", "en")
REGISTERED_STATUSES = ("confirmed", "waiting")

# kind → (value, default language) → condition on Member
AudienceCondition = Callable[[Any, str], ColumnElement[bool]]


def member_language(default_language: str) -> ColumnElement[str]:
    """The language a member reads: their stored one, else DEFAULT_LANGUAGE."""
    return func.coalesce(Member.language, default_language)


def _by_governorates(value: Any, _default: str) -> ColumnElement[bool]:
    return Member.governorate.in_([str(code) for code in value])


def _by_language(value: Any, default_language: str) -> ColumnElement[bool]:
    return member_language(default_language) == str(value)


def _registrants_of_session(value: Any, _default: str) -> ColumnElement[bool]:
    return Member.user_id.in_(
        select(SessionRegistration.user_id).where(
            SessionRegistration.session_id == int(value),
            SessionRegistration.status.in_(REGISTERED_STATUSES),
            SessionRegistration.user_id.is_not(None),
        )
    )


def _respondents_of_survey(value: Any, _default: str) -> ColumnElement[bool]:
    return Member.user_id.in_(
        select(SurveyResponse.user_id).where(
            SurveyResponse.survey_id == int(value),
            SurveyResponse.submitted_at.is_not(None),
            SurveyResponse.user_id.is_not(None),
        )
    )


AUDIENCE_KINDS: dict[str, AudienceCondition] = {
    "governorates": _by_governorates,
    "language": _by_language,
    "session_id": _registrants_of_session,
    "survey_id": _respondents_of_survey,
}


def register_audience_kind(kind: str, condition: AudienceCondition) -> None:
    """Let another feature add a filter kind (e.g. attendees of a session)."""
    if kind in AUDIENCE_KINDS:
        raise ValueError(f"audience kind {kind!r} registered twice")
    AUDIENCE_KINDS[kind] = condition


@dataclass(frozen=True)
class Audience:
    """The chosen filters; empty means everyone subscribed."""

    filters: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> Audience:
        return cls(
            {k: v for k, v in stored.items() if k in AUDIENCE_KINDS and v not in (None, [])}
        )

    def as_dict(self) -> dict[str, Any]:
        return dict(self.filters)

    @property
    def is_everyone(self) -> bool:
        return not self.filters


@dataclass(frozen=True)
class AudienceCount:
    total: int
    by_language: dict[str, int]


@dataclass(frozen=True)
class AudienceDescription:
    """What the organiser is shown about the filters, with titles of sessions and surveys."""

    governorates: tuple[str, ...]
    language: str | None
    session_id: int | None
    session_title: str | None
    survey_id: int | None
    survey_title: str | None


def conditions(audience: Audience, default_language: str) -> list[ColumnElement[bool]]:
    base: list[ColumnElement[bool]] = [
        Member.consented_at.is_not(None),
        Member.subscribed.is_(True),
        Member.unreachable.is_(False),
    ]
    for kind, value in audience.filters.items():
        base.append(AUDIENCE_KINDS[kind](value, default_language))
    return base


def member_ids(audience: Audience, default_language: str) -> Select[tuple[int]]:
    """The ids of the members in the audience (a select other queries can build on)."""
    return select(Member.user_id).where(and_(*conditions(audience, default_language)))


async def count_audience(
    uow: UnitOfWork, audience: Audience, default_language: str
) -> AudienceCount:
    language = member_language(default_language)
    rows = await uow.session.execute(
        select(language, func.count())
        .where(and_(*conditions(audience, default_language)))
        .group_by(language)
    )
    by_language = {code: 0 for code in LANGUAGES}
    for code, count in rows.tuples():
        reads = code if code in LANGUAGES else default_language
        by_language[reads] += int(count)
    return AudienceCount(sum(by_language.values()), by_language)


async def next_recipients(
    uow: UnitOfWork, audience: Audience, default_language: str, after: int, limit: int
) -> list[tuple[int, str]]:
    """The next `limit` members (by id, after `after`) and the language each reads."""
    language = member_language(default_language)
    rows = await uow.session.execute(
        select(Member.user_id, language)
        .where(and_(*conditions(audience, default_language)), Member.user_id > after)
        .order_by(Member.user_id)
        .limit(limit)
    )
    return [
        (int(user_id), code if code in LANGUAGES else default_language)
        for user_id, code in rows.tuples()
    ]


async def describe_audience(
    uow: UnitOfWork, audience: Audience, language: str
) -> AudienceDescription:
    session_id = audience.filters.get("session_id")
    survey_id = audience.filters.get("survey_id")
    session_title = survey_title = None
    if session_id is not None:
        session = await uow.session.get(DialogueSession, int(session_id))
        if session is not None:
            session_title = session.title_ar if language == "ar" else session.title_en
    if survey_id is not None:
        survey = await uow.session.get(Survey, int(survey_id))
        if survey is not None:
            survey_title = survey.title_ar if language == "ar" else survey.title_en
    return AudienceDescription(
        governorates=tuple(audience.filters.get("governorates", ())),
        language=audience.filters.get("language"),
        session_id=None if session_id is None else int(session_id),
        session_title=session_title,
        survey_id=None if survey_id is None else int(survey_id),
        survey_title=survey_title,
    )
