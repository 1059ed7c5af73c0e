"""The short feedback after a session, offered to those who were checked in: a rating from
one to five, what was most useful (optional) and whether they would join again. A fixed
three-question flow on the flow engine, until the survey engine can carry it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.engines import flows
from bot.engines.flows import (
    SKIP,
    Choice,
    Completion,
    Finished,
    FlowInput,
    FlowRegistry,
    FlowReply,
    Invalid,
    Next,
    Prompt,
    StepResult,
    Text,
)
from bot.engines.numbers import parse_integer
from bot.sessions.lifecycle import CONFIRMED, get_session
from messages.catalogue import arabic_digits
from storage.database import UnitOfWork
from storage.models import SessionFeedback, SessionRegistration

FLOW_NAME = "sessions.feedback"
MAX_USEFUL = 1000
_STARS = tuple(str(n) for n in range(1, 6))


class NotAttended(Exception):
    pass


class FeedbackAlreadyGiven(Exception):
    pass


class FeedbackFlow:
    name = FLOW_NAME

    def first_step(self, data: dict[str, Any]) -> str:
        return "rating"

    def prompt(self, step: str, data: dict[str, Any]) -> Prompt:
        if step == "rating":
            return Prompt(
                Text("sessions.feedback.q_rating", {"title": data["title"]}),
                choices=tuple(
                    Choice(n, labels={"ar": f"{arabic_digits(n)} ⭐", "en": f"{n} ⭐"})
                    for n in _STARS
                ),
                columns=5,
            )
        if step == "useful":
            return Prompt(Text("sessions.feedback.q_useful"), can_go_back=True, can_skip=True)
        return Prompt(
            Text("sessions.feedback.q_again"),
            choices=(
                Choice("yes", label_key="sessions.feedback.yes"),
                Choice("no", label_key="sessions.feedback.no"),
            ),
            columns=2,
            can_go_back=True,
        )

    def accept(self, step: str, data: dict[str, Any], given: FlowInput) -> StepResult:
        if step == "rating":
            rating = given.choice or (str(parse_integer(given.text)) if given.text else None)
            if rating not in _STARS:
                return Invalid(Text("sessions.feedback.rating_range"))
            return Next("useful", {**data, "rating": int(rating)})
        if step == "useful":
            if given.choice == SKIP:
                return Next("again", {**data, "useful": None})
            if given.media is not None or not (given.text or "").strip():
                return Invalid(Text("sessions.feedback.text_only"))
            text = (given.text or "").strip()
            if len(text) > MAX_USEFUL:
                return Invalid(Text("sessions.feedback.too_long", {"limit": MAX_USEFUL}))
            return Next("again", {**data, "useful": text})
        if given.choice not in ("yes", "no"):
            return Invalid(Text("flow.use_buttons"))
        return Finished({**data, "again": given.choice == "yes"})

    async def finish(
        self, uow: UnitOfWork, user_id: int, data: dict[str, Any], now: datetime
    ) -> Completion:
        session_id = int(data["session_id"])
        existing = await uow.session.scalar(
            select(SessionFeedback).where(
                SessionFeedback.session_id == session_id, SessionFeedback.user_id == user_id
            )
        )
        row = existing or SessionFeedback(session_id=session_id, user_id=user_id)
        row.rating = int(data["rating"])
        row.most_useful = data.get("useful")
        row.join_again = bool(data["again"])
        row.created_at = now
        if existing is None:
            uow.session.add(row)
        return Completion(Text("sessions.feedback.thanks"))


async def start_feedback(
    uow: UnitOfWork,
    registry: FlowRegistry,
    *,
    session_id: int,
    user_id: int,
    language: str,
    now: datetime,
) -> FlowReply:
    """Open the feedback flow for a member who was checked in at the session."""
    attended = await uow.session.scalar(
        select(SessionRegistration.id).where(
            SessionRegistration.session_id == session_id,
            SessionRegistration.user_id == user_id,
            SessionRegistration.status == CONFIRMED,
            SessionRegistration.checked_in_at.is_not(None),
        )
    )
    if attended is None:
        raise NotAttended(session_id)
    given = await uow.session.scalar(
        select(SessionFeedback.id).where(
            SessionFeedback.session_id == session_id, SessionFeedback.user_id == user_id
        )
    )
    if given is not None:
        raise FeedbackAlreadyGiven(session_id)
    view = await get_session(uow, session_id)
    data = {"session_id": session_id, "title": view.title(language)}
    return await flows.start_flow(uow, registry, user_id, FLOW_NAME, now, data)


@dataclass(frozen=True)
class FeedbackSummary:
    session_id: int
    responses: int
    average: float
    ratings: dict[int, int]
    join_again: int
    not_again: int
    most_useful: tuple[str, ...]


async def feedback_summary(uow: UnitOfWork, session_id: int) -> FeedbackSummary:
    await get_session(uow, session_id)  # SessionNotFound for an unknown id
    rows = list(
        await uow.session.scalars(
            select(SessionFeedback)
            .where(SessionFeedback.session_id == session_id)
            .order_by(SessionFeedback.id)
        )
    )
    ratings = {n: sum(1 for r in rows if r.rating == n) for n in range(1, 6)}
    average = sum(r.rating for r in rows) / len(rows) if rows else 0.0
    return FeedbackSummary(
        session_id,
        len(rows),
        round(average, 1),
        ratings,
        sum(1 for r in rows if r.join_again),
        sum(1 for r in rows if not r.join_again),
        tuple(r.most_useful for r in rows if r.most_useful),
    )
