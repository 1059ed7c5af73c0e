"""The printable poster of an open survey (`/poster v7`), audited (SPEC §4)."""

from __future__ import annotations

from datetime import datetime

from bot.engines.audit import record_action
from bot.engines.posters import Poster, PosterText
from bot.surveys.lifecycle import SurveyStatus, SurveySummary, get_survey
from messages import Catalogue
from storage.database import UnitOfWork


class NotShareable(Exception):
    """A draft or closed survey: a poster would invite people to nothing."""


def _text(catalogue: Catalogue, language: str, survey: SurveySummary) -> PosterText:
    opened_at = survey.published_at or survey.created_at
    return PosterText(
        title=survey.title_ar if language == "ar" else survey.title_en,
        details=(
            catalogue.plain(language, "posters.survey.when", opened_at=opened_at),
            catalogue.plain(language, "posters.survey.where"),
        ),
        call_to_action=catalogue.plain(language, "posters.survey.call"),
    )


async def survey_poster(
    uow: UnitOfWork,
    catalogue: Catalogue,
    survey_id: int,
    *,
    url: str,
    actor_id: int,
    now: datetime,
) -> Poster:
    survey = await get_survey(uow, survey_id)
    if survey.status is not SurveyStatus.OPEN:
        raise NotShareable(survey_id)
    await record_action(
        uow,
        actor_id=actor_id,
        action="survey.poster",
        record_type="survey",
        record_id=str(survey_id),
        now=now,
    )
    return poster_of(catalogue, survey, url)


def poster_of(catalogue: Catalogue, survey: SurveySummary, url: str) -> Poster:
    """What the poster of `survey` says, in both languages."""
    return Poster(
        arabic=_text(catalogue, "ar", survey),
        english=_text(catalogue, "en", survey),
        url=url,
        footer=catalogue.plain("en", "posters.footer", payload=f"v{survey.id}"),
    )
