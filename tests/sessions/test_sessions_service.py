"""Session services on both databases: seats are never oversold under concurrency, the
waiting list moves in order, reserved seats hold, and organiser input is read as typed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from bot.sessions import registration
from bot.sessions.checkin import CodeNotFound, read_check_in_code
from bot.sessions.organiser_input import (
    InvalidSessionInput,
    parse_capacity,
    parse_end,
    parse_local_datetime,
    parse_reminders,
)
from bot.sessions.registration import CODE_ALPHABET, AlreadyRegistered
from storage.database import Database
from storage.migrate import upgrade_database
from storage.models import OutboxMessage
from tests.sessions.test_sessions_support import (
    BAGHDAD,
    CATALOGUE,
    add_member,
    add_session,
    registrations,
    statuses,
)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url, pool_size=10)
    await upgrade_database(db)
    try:
        yield db
    finally:
        await db.dispose()


async def register(db: Database, session_id: int, user_id: int, now: datetime) -> str:
    async with db.unit_of_work() as uow:
        ticket = await registration.register_for_session(
            uow, session_id=session_id, user_id=user_id, language="ar", now=now
        )
        await uow.commit()
    return ticket.status


async def test_a_hundred_concurrent_registrations_fill_forty_seats_exactly(
    database: Database,
) -> None:
    now = datetime.now(UTC)
    session_id = await add_session(database, now, capacity=40)
    results = await asyncio.gather(
        *(register(database, session_id, 10_000 + n, now) for n in range(100))
    )
    assert results.count("confirmed") == 40
    assert results.count("waiting") == 60
    rows = await registrations(database, session_id)
    assert statuses(rows) == {"confirmed": 40, "waiting": 60}
    assert len({code for _uid, _status, code in rows}) == 100


async def test_a_freed_seat_goes_to_the_first_in_line_who_is_told(database: Database) -> None:
    now = datetime.now(UTC)
    session_id = await add_session(database, now, capacity=2)
    for user_id in (1, 2, 3, 4):
        await add_member(database, user_id, language="ar" if user_id == 3 else "en", now=now)
        await register(database, session_id, user_id, now + timedelta(seconds=user_id))
    async with database.unit_of_work() as uow:
        tickets = await registration.my_tickets(uow, 4, now)
    assert [(t.status, t.position) for t in tickets] == [("waiting", 2)]

    async with database.unit_of_work() as uow:
        mine = await registration.my_tickets(uow, 1, now)
        await registration.cancel_registration(
            uow, CATALOGUE, registration_id=mine[0].registration_id, user_id=1, now=now
        )
        await uow.commit()
    rows = await registrations(database, session_id)
    assert [(uid, status) for uid, status, _ in rows] == [
        (1, "cancelled"),
        (2, "confirmed"),
        (3, "confirmed"),
        (4, "waiting"),
    ]
    async with database.unit_of_work() as uow:
        told = [
            (m.chat_id, m.payload["text"])
            for m in await uow.session.scalars(select(OutboxMessage))
        ]
    assert [chat for chat, _ in told] == [3]
    assert "<code>" in told[0][1] and "توفر مقعد" in told[0][1]


async def test_reserved_seats_are_held_for_women_and_young_people(database: Database) -> None:
    now = datetime.now(UTC)
    session_id = await add_session(database, now, capacity=3, reserved_women=1, reserved_youth=1)
    await add_member(database, 1, gender="male", age_group="35_49", now=now)
    await add_member(database, 2, gender="male", age_group="50_plus", now=now)
    await add_member(database, 3, gender="female", age_group="35_49", now=now)
    await add_member(database, 4, gender="male", age_group="18_24", now=now)
    assert await register(database, session_id, 1, now) == "confirmed"
    assert await register(database, session_id, 2, now) == "waiting"  # two seats are held
    assert await register(database, session_id, 3, now) == "confirmed"
    assert await register(database, session_id, 4, now) == "confirmed"


async def test_a_second_registration_and_a_cancelled_session_change_nothing(
    database: Database,
) -> None:
    now = datetime.now(UTC)
    session_id = await add_session(database, now, capacity=5)
    await register(database, session_id, 7, now)
    with pytest.raises(AlreadyRegistered):
        await register(database, session_id, 7, now)
    assert statuses(await registrations(database, session_id)) == {"confirmed": 1}


@pytest.mark.parametrize(
    "typed",
    [
        "2026-12-05 17:00",
        "5/12/2026 17:00",
        "٥/١٢/٢٠٢٦ ١٧:٠٠",
        "2026-12-05T17:00",
        " 05.12.2026 17.00 ",
    ],
)
def test_dates_are_read_in_baghdad_time_whatever_the_digits(typed: str) -> None:
    moment = parse_local_datetime(typed, BAGHDAD)
    assert moment == datetime(2026, 12, 5, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize("typed", ["tomorrow", "2026-13-05 17:00", "31/02/2026 10:00", ""])
def test_unreadable_dates_are_refused(typed: str) -> None:
    with pytest.raises(InvalidSessionInput):
        parse_local_datetime(typed, BAGHDAD)


def test_an_end_before_the_start_is_refused_and_a_bare_time_means_the_same_day() -> None:
    start = parse_local_datetime("2026-12-05 17:00", BAGHDAD)
    assert parse_end("19:00", start, BAGHDAD) == start + timedelta(hours=2)
    with pytest.raises(InvalidSessionInput, match="end_before_start"):
        parse_end("16:00", start, BAGHDAD)


@pytest.mark.parametrize(("typed", "expected"), [("30", 30), ("٣٠", 30), ("۴۰", 40), (" 40 ", 40)])
def test_capacity_accepts_latin_and_arabic_indic_digits(typed: str, expected: int) -> None:
    assert parse_capacity(typed) == expected


@pytest.mark.parametrize("typed", ["0", "abc", "-3", "10001", "3.5", ""])
def test_capacity_refuses_zero_junk_and_absurd_numbers(typed: str) -> None:
    with pytest.raises(InvalidSessionInput):
        parse_capacity(typed)


def test_reminder_offsets_are_hours_before_the_start() -> None:
    assert parse_reminders("24, 2") == (1440, 120)
    assert parse_reminders("٢٤،٢") == (1440, 120)
    assert parse_reminders("0") == ()
    with pytest.raises(InvalidSessionInput):
        parse_reminders("soon")


def test_check_in_codes_are_read_from_qr_text_typed_codes_and_arabic_digits() -> None:
    assert read_check_in_code("S12-K7MXPA") == (12, "K7MXPA")
    assert read_check_in_code("s12-k7mxpa") == (12, "K7MXPA")
    assert read_check_in_code("١٢ k7mxpa") == (12, "K7MXPA")
    assert read_check_in_code("K٧MXPA") == (None, "K7MXPA")
    with pytest.raises(CodeNotFound):
        read_check_in_code("K0OOO1")


@given(st.text(max_size=40))
def test_any_text_is_read_as_a_code_or_refused_without_crashing(typed: str) -> None:
    try:
        session_id, code = read_check_in_code(typed)
    except CodeNotFound:
        return
    assert set(code) <= set(CODE_ALPHABET) and len(code) == 6
    assert session_id is None or session_id >= 0


@given(st.text(max_size=40))
def test_any_text_is_a_date_or_a_clear_refusal(typed: str) -> None:
    try:
        moment = parse_local_datetime(typed, BAGHDAD)
    except InvalidSessionInput as error:
        assert error.reason == "bad_datetime"
        return
    assert moment.tzinfo is not None
