"""Who an announcement reaches: registrants of a session, respondents of a survey, people
in some governorates or reading one language, and any combination (all filters at once).
Unsubscribed, unreachable and not-yet-consented people are never counted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from bot.broadcasts.audience import Audience, count_audience, next_recipients
from bot.clock import SystemClock
from storage.database import Database
from storage.migrate import upgrade_database
from storage.models import DialogueSession, SessionRegistration, Survey, SurveyResponse
from tests.broadcasts.test_broadcast_support import (
    add_members,
    compose,
    label,
    make_organiser,
    member_row,
    messages_per_member,
)
from tests.support.harness import BotHarness


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    await upgrade_database(db)
    try:
        yield db
    finally:
        await db.dispose()


async def add_session_with_registrants(
    db: Database, now: datetime, registrants: dict[int, str]
) -> int:
    async with db.unit_of_work() as uow:
        session = DialogueSession(
            title_ar="حوار شباب الموصل",
            title_en="Mosul youth dialogue",
            description_ar="-",
            description_en="-",
            governorate="nineveh",
            venue="Hall 2",
            starts_at=now + timedelta(days=3),
            ends_at=now + timedelta(days=3, hours=2),
            capacity=40,
            reserved_women=0,
            reserved_youth=0,
            reminder_minutes=[],
            status="published",
            version=1,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(session)
        await uow.session.flush()
        for n, (user_id, status) in enumerate(registrants.items()):
            uow.session.add(
                SessionRegistration(
                    session_id=session.id,
                    user_id=user_id,
                    status=status,
                    code=f"C{n:04d}",
                    language="ar",
                    registered_at=now,
                    queued_at=now,
                )
            )
        await uow.commit()
        return session.id


async def add_survey_with_responses(
    db: Database, now: datetime, responses: dict[int, bool]
) -> int:
    """`responses`: member → whether they submitted (False: still a draft)."""
    async with db.unit_of_work() as uow:
        survey = Survey(
            form_id="needs",
            title_en="Needs survey",
            title_ar="استبيان الاحتياجات",
            status="open",
            definition={},
            created_at=now,
        )
        uow.session.add(survey)
        await uow.session.flush()
        for user_id, submitted in responses.items():
            uow.session.add(
                SurveyResponse(
                    survey_id=survey.id,
                    user_id=user_id,
                    response_uid=f"r{survey.id}-{user_id}",
                    started_at=now,
                    submitted_at=now if submitted else None,
                )
            )
        await uow.commit()
        return survey.id


async def audience_of(db: Database, **filters: object) -> tuple[list[int], int]:
    audience = Audience.from_dict(dict(filters))
    async with db.unit_of_work() as uow:
        counted = await count_audience(uow, audience, "ar")
        recipients = await next_recipients(uow, audience, "ar", 0, 1000)
    return [user_id for user_id, _language in recipients], counted.total


async def test_filters_and_their_intersections(database: Database) -> None:
    now = SystemClock().now()
    await add_members(
        database,
        [
            member_row(1, now, language="ar", governorate="nineveh"),
            member_row(2, now, language="en", governorate="nineveh"),
            member_row(3, now, language="ar", governorate="basra"),
            member_row(4, now, language=None, governorate="basra"),
            member_row(5, now, language="ar", governorate="nineveh", subscribed=False),
            member_row(6, now, language="ar", governorate="nineveh", unreachable=True),
            member_row(7, now, language="ar", governorate="nineveh", consented=False),
        ],
    )
    session_id = await add_session_with_registrants(
        database, now, {1: "confirmed", 2: "waiting", 3: "cancelled", 5: "confirmed"}
    )
    survey_id = await add_survey_with_responses(database, now, {2: True, 3: True, 4: False})

    assert await audience_of(database) == ([1, 2, 3, 4], 4)
    assert await audience_of(database, governorates=["basra"]) == ([3, 4], 2)
    # No stored language: DEFAULT_LANGUAGE (ar) counts.
    assert await audience_of(database, language="ar") == ([1, 3, 4], 3)
    assert await audience_of(database, session_id=session_id) == ([1, 2], 2)
    assert await audience_of(database, survey_id=survey_id) == ([2, 3], 2)
    assert await audience_of(database, session_id=session_id, survey_id=survey_id) == ([2], 1)
    assert await audience_of(
        database, governorates=["nineveh", "basra"], language="ar", session_id=session_id
    ) == ([1], 1)
    assert await audience_of(database, session_id=session_id + 99) == ([], 0)


async def test_an_organiser_targets_the_registrants_of_a_session(bot: BotHarness) -> None:
    now = bot.clock.now()
    await make_organiser(bot.db, 900, now)
    await add_members(
        bot.db,
        [member_row(n, now, language="ar" if n % 2 else "en") for n in range(1, 7)],
    )
    session_id = await add_session_with_registrants(
        bot.db, now, {1: "confirmed", 2: "confirmed", 3: "waiting", 4: "cancelled"}
    )
    organiser = bot.user(900, "en")
    draft = await compose(
        bot.api,
        organiser,
        "en",
        arabic="تذكير: أحضروا بطاقاتكم.",
        english="Reminder: bring your ID.",
        session_id=session_id,
    )
    card = draft["card"].content
    assert f"session #{session_id} (Mosul youth dialogue)" in card and "<b>3</b>" in card
    organiser.press(draft["card"], text=label("en", "broadcasts.buttons.send"))
    await organiser.reply(timeout=30)
    await bot.idle()
    assert messages_per_member(bot.api, "/unsubscribe", 900) == {1: 1, 2: 1, 3: 1}


async def test_a_session_that_does_not_exist_reaches_nobody(bot: BotHarness) -> None:
    now = bot.clock.now()
    await make_organiser(bot.db, 900, now)
    await add_members(bot.db, [member_row(1, now)])
    organiser = bot.user(900, "en")
    draft = await compose(bot.api, organiser, "en", arabic="نص", english=None, session_id=4242)
    assert "(no such session)" in draft["card"].content
    assert draft["card"].button_texts() == [label("en", "broadcasts.buttons.discard")]
