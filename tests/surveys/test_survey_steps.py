"""Steps shared by the survey tests (this module holds no tests itself)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import escape
from sqlalchemy import select

from bot.surveys.lifecycle import import_survey, publish_survey
from bot.surveys.xlsform.form import QuestionType, SurveyForm
from bot.surveys.xlsform.reading import read_xlsform
from messages import Catalogue
from storage.models import Member, StaffRole, SurveyAnswer, SurveyResponse
from tests.fake_telegram import SimulatedUser, factories
from tests.fake_telegram.records import SentMessage
from tests.support.harness import BotHarness

CATALOGUE = Catalogue(ZoneInfo("Asia/Baghdad"))
FORMS = Path(__file__).resolve().parents[2] / "docs" / "forms"
NEEDS = FORMS / "community_needs_assessment.xlsx"
FEEDBACK = FORMS / "post_session_feedback.xlsx"
WAIT = 30.0


def text(language: str, key: str, **variables: Any) -> str:
    return CATALOGUE.render(language, key, **variables)


def label(language: str, key: str, **variables: Any) -> str:
    return CATALOGUE.plain(language, key, **variables)


def needs_form() -> SurveyForm:
    return read_xlsform(NEEDS.read_bytes()).form


async def add_member(
    bot: BotHarness,
    user_id: int,
    language: str,
    *,
    governorate: str | None = None,
    gender: str | None = None,
    age_group: str | None = None,
) -> None:
    """A member who has already consented (onboarding is another feature's test)."""
    now = datetime.now(UTC)
    async with bot.db.unit_of_work() as uow:
        uow.session.add(
            Member(
                user_id=user_id,
                language=language,
                language_source="choice",
                consented_at=now,
                governorate=governorate,
                gender=gender,
                age_group=age_group,
                subscribed=True,
                unreachable=False,
                created_at=now,
                last_seen_at=now,
            )
        )
        await uow.commit()


async def make_organiser(bot: BotHarness, user_id: int) -> None:
    async with bot.db.unit_of_work() as uow:
        uow.session.add(
            StaffRole(
                user_id=user_id, role="organiser", granted_by=None, granted_at=datetime.now(UTC)
            )
        )
        await uow.commit()


async def import_form(bot: BotHarness, path: Path = NEEDS, *, publish: bool = True) -> int:
    read = read_xlsform(path.read_bytes(), path.name)
    now = datetime.now(UTC)
    async with bot.db.unit_of_work() as uow:
        summary = await import_survey(uow, read, actor_id=None, source_name=path.name, now=now)
        if publish:
            await publish_survey(uow, summary.id, actor_id=None, now=now)
        await uow.commit()
    return summary.id


async def stored_answers(bot: BotHarness, user_id: int, survey_id: int) -> dict[str, str] | None:
    """The member's submitted answers, or None if they have not submitted."""
    async with bot.db.unit_of_work() as uow:
        response = await uow.session.scalar(
            select(SurveyResponse).where(
                SurveyResponse.user_id == user_id, SurveyResponse.survey_id == survey_id
            )
        )
        if response is None or response.submitted_at is None:
            return None
        rows = await uow.session.execute(
            select(SurveyAnswer.name, SurveyAnswer.value).where(
                SurveyAnswer.response_id == response.id
            )
        )
        return dict(rows.tuples().all())


def send_workbook(user: SimulatedUser, file_name: str = "needs.xlsx") -> int:
    return user.api.push_update(
        factories.document_message(
            user.user,
            file_name=file_name,
            mime_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            chat=user.chat,
            message_id=user.api.allocate_message_id(user.chat.id),
        )
    )


async def toggle(user: SimulatedUser, message: SentMessage, option: str) -> None:
    """Press a multi-select option and wait until the message shows the new selection."""
    api = user.api

    def edits() -> int:
        current = api.get_message(message.chat_id, message.message_id)
        return current.edits if current is not None else 0

    before = edits()
    user.press(message, text=option)
    await api.wait_for(lambda: edits() > before, timeout=WAIT, what=f"selection of {option!r}")


class Respondent:
    """A member answering a form question by question, checking each question is the one
    expected (so skip logic is visible in the test)."""

    def __init__(self, bot: BotHarness, user: SimulatedUser, language: str, form: SurveyForm):
        self.bot, self.user, self.language, self.form = bot, user, language, form

    async def expect(self, name: str) -> SentMessage:
        message = await self.user.reply(WAIT)
        question_label = str(escape(self.form.question(name).labels[self.language]))
        assert question_label in message.content, (
            f"expected question {name!r}, got {message.content[:200]!r}"
        )
        return message

    async def choose(self, name: str, *values: str) -> None:
        message = await self.expect(name)
        question = self.form.question(name)
        for value in values:
            option = question.option_label(value, self.language)
            if question.type is QuestionType.SELECT_MULTIPLE:
                await toggle(self.user, message, option)
            else:
                self.user.press(message, text=option)
        if question.type is QuestionType.SELECT_MULTIPLE:
            self.user.press(message, text=label(self.language, "flow.done"))

    async def type(self, name: str, answer: str) -> None:
        await self.expect(name)
        self.user.send(answer)

    async def skip(self, name: str) -> None:
        message = await self.expect(name)
        self.user.press(message, text=label(self.language, "flow.skip"))

    async def next(self, name: str) -> None:
        message = await self.expect(name)
        self.user.press(message, text=label(self.language, "surveys.flow.next"))

    async def submit(self, *, revised: bool = False) -> SentMessage:
        review = await self.user.reply(WAIT)
        assert review.content.startswith(
            text(self.language, "surveys.flow.review", answered=0)[:20]
        )
        self.user.press(review, text=label(self.language, "surveys.flow.submit"))
        thanks = await self.user.reply(WAIT)
        key = "surveys.flow.revised" if revised else "surveys.flow.thanks"
        titles = self.form.titles
        assert thanks.content == text(
            self.language, key, title_en=titles["en"], title_ar=titles["ar"]
        )
        return thanks


async def open_from_list(user: SimulatedUser, language: str, title: str) -> SentMessage:
    """/survey, press the survey; returns the intro message."""
    user.command("/survey")
    listing = await user.reply(WAIT)
    user.press(listing, text=title)
    return await user.reply(WAIT)


def xlsx_rows(content: bytes, sheet: str = "responses") -> list[list[Any]]:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(content), read_only=True)
    return [list(row) for row in workbook[sheet].iter_rows(values_only=True)]
