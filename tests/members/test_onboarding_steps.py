"""Steps shared by the onboarding, staff and flood tests (this module holds no tests itself)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from messages import Catalogue
from storage.models import AuditEntry, Member, StaffRole
from tests.fake_telegram import SimulatedUser
from tests.fake_telegram.records import SentMessage
from tests.support.harness import BotHarness

CATALOGUE = Catalogue(ZoneInfo("Asia/Baghdad"))


def text(language: str, key: str, **variables: Any) -> str:
    return CATALOGUE.render(language, key, **variables)


def label(language: str, key: str) -> str:
    return CATALOGUE.plain(language, key)


async def join(bot: BotHarness, user: SimulatedUser, language: str) -> SentMessage:
    """/start and "I agree"; returns the main menu message."""
    user.command("/start")
    await user.reply()  # greeting
    notice = await user.reply()
    assert notice.content == text(language, "onboarding.privacy_notice")
    user.press(notice, text=label(language, "onboarding.consent.agree_button"))
    assert (await user.reply()).content == text(language, "onboarding.consent.thanks")
    menu = await user.reply()
    assert menu.content == text(language, "onboarding.menu.title")
    return menu


@dataclass(frozen=True)
class MemberRow:
    language: str | None
    language_source: str | None
    consented_at: datetime | None
    governorate: str | None
    age_group: str | None
    gender: str | None


async def member_row(bot: BotHarness, user_id: int) -> MemberRow | None:
    """The member's row as stored (a snapshot, readable after the session closed)."""
    async with bot.db.unit_of_work() as uow:
        row = await uow.session.get(Member, user_id)
        if row is None:
            return None
        return MemberRow(
            row.language,
            row.language_source,
            row.consented_at,
            row.governorate,
            row.age_group,
            row.gender,
        )


async def audit_count(bot: BotHarness) -> int:
    async with bot.db.unit_of_work() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


async def staff_rows(bot: BotHarness) -> list[tuple[int, str]]:
    async with bot.db.unit_of_work() as uow:
        rows = await uow.session.execute(
            select(StaffRole.user_id, StaffRole.role).order_by(StaffRole.user_id, StaffRole.role)
        )
        return [(int(user_id), str(role)) for user_id, role in rows.tuples()]
