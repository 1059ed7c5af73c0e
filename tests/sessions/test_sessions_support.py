"""Steps shared by the session tests (this module holds no tests itself)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.engines.roles import Role, grant_role
from bot.sessions.authoring import NEW_STEPS
from bot.sessions.organiser_input import SessionDraft
from bot.sessions.organising import create_session
from messages import Catalogue
from storage.database import Database
from storage.models import Member, SessionRegistration
from tests.fake_telegram import SimulatedUser
from tests.fake_telegram.records import SentMessage
from tests.support.harness import BotHarness

BAGHDAD = ZoneInfo("Asia/Baghdad")
CATALOGUE = Catalogue(BAGHDAD)


def text(language: str, key: str, **variables: Any) -> str:
    return CATALOGUE.render(language, key, **variables)


def label(language: str, key: str, **variables: Any) -> str:
    return CATALOGUE.plain(language, key, **variables)


def ask(language: str, step: str) -> str:
    """A /newsession question as the organiser reads it, with its step number."""
    position = {"step": NEW_STEPS.index(step) + 1, "total": len(NEW_STEPS) - 1}
    return CATALOGUE.render(language, f"sessions.new.ask_{step}", **position)


async def add_member(
    db: Database,
    user_id: int,
    *,
    language: str = "en",
    governorate: str | None = None,
    gender: str | None = None,
    age_group: str | None = None,
    now: datetime,
) -> None:
    """A member who has already consented (onboarding is tested on its own)."""
    async with db.unit_of_work() as uow:
        uow.session.add(
            Member(
                user_id=user_id,
                language=language,
                language_source="chosen",
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


async def make_organiser(db: Database, user_id: int, now: datetime) -> None:
    async with db.unit_of_work() as uow:
        await grant_role(uow, actor_id=None, user_id=user_id, role=Role.ORGANISER, now=now)
        await uow.commit()


def draft(
    now: datetime,
    *,
    capacity: int = 40,
    starts_in: timedelta = timedelta(days=3),
    governorate: str = "nineveh",
    title: str = "حوار شباب الموصل",
    reserved_women: int = 0,
    reserved_youth: int = 0,
    reminders: tuple[int, ...] = (24 * 60, 2 * 60),
) -> SessionDraft:
    starts_at = (now + starts_in).replace(second=0, microsecond=0)
    return SessionDraft(
        title_ar=title,
        title_en=f"EN {title}" if not title.isascii() else title,
        description_ar="جلسة حوار مفتوحة عن الخدمات العامة",
        description_en="An open dialogue about public services",
        governorate=governorate,
        venue="Hall 2, University of Mosul",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        capacity=capacity,
        reserved_women=reserved_women,
        reserved_youth=reserved_youth,
        reminder_minutes=reminders,
    )


async def add_session(db: Database, now: datetime, **options: Any) -> int:
    async with db.unit_of_work() as uow:
        view = await create_session(
            uow, draft(now, **options), actor_id=None, publish=True, now=now
        )
        await uow.commit()
    return view.id


async def registrations(db: Database, session_id: int) -> list[tuple[int | None, str, str]]:
    """(user id, status, code) in queue order."""
    async with db.unit_of_work() as uow:
        rows = await uow.session.execute(
            select(
                SessionRegistration.user_id, SessionRegistration.status, SessionRegistration.code
            )
            .where(SessionRegistration.session_id == session_id)
            .order_by(SessionRegistration.queued_at, SessionRegistration.id)
        )
        return [(uid, status, code) for uid, status, code in rows.tuples()]


def statuses(rows: list[tuple[int | None, str, str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _uid, status, _code in rows:
        counts[status] = counts.get(status, 0) + 1
    return counts


async def take_place(user: SimulatedUser, message: SentMessage, data: str) -> SentMessage:
    """Press a register button; returns the ticket (or waiting-list) message, and reads the
    QR image and the calendar file that follow a confirmed place."""
    user.press(message, data=data)
    answer = await user.reply()
    if answer.content.startswith("✅"):
        await user.replies(2)
    return answer


async def idle(bot: BotHarness) -> None:
    await bot.idle(timeout=60)
