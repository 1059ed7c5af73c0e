"""Needs surveys (SPEC §3.3): the imported XLSForm, one response per member, and its answers.

A response is linked to its member only by `user_id`; when the member erases their data the
link is cleared and the answers stay as an anonymous response for statistics. `response_uid`
is a random id, the only identifier that ever leaves the database in exports.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import AutoId, Base, UtcDateTime
from storage.sealing import SealedJSON, SealedText


class Survey(Base):
    """An imported form: its parsed definition, and whether it is a draft, open or closed."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True)
    form_id: Mapped[str] = mapped_column(String(100))
    title_en: Mapped[str] = mapped_column(String(300))
    title_ar: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    source_name: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_surveys_status", "status", "id"),)


class SurveyResponse(Base):
    """One member's response to one survey; `draft` holds an unfinished pass."""

    __tablename__ = "survey_responses"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    response_uid: Mapped[str] = mapped_column(String(32), unique=True)
    language: Mapped[str | None] = mapped_column(String(8))
    draft: Mapped[dict[str, Any] | None] = mapped_column(SealedJSON)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revisions: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        UniqueConstraint("survey_id", "user_id", name="uq_survey_responses_member"),
        Index("ix_survey_responses_submitted", "survey_id", "submitted_at"),
    )


class SurveyAnswer(Base):
    """One submitted answer, stored as the XLSForm value (select_multiple space-separated)."""

    __tablename__ = "survey_answers"

    response_id: Mapped[int] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(SealedText)  # sealed
