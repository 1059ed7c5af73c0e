"""`python -m bot demo-data`: a database an organisation can train its moderators on.

Everything is written through the real services, so the data looks as real data does:
members who consented (half Arabic, half English, with profiles), three dialogue sessions
(one held last week with registrations and check-ins, one next week, one draft), the example
community needs survey published with answers, and 52 reports in both languages spread over
the last four weeks, some of them moved along by a demo moderator (taken, acknowledged,
noted, replied to, closed), so `/queue`, `/case`, `/stats`, `/audit`, `/results` and
`/attendees` all have something to show.

Demo members are not Telegram users: their ids lie far above any real one
(`DEMO_IDS_FROM`), they are marked unreachable (no broadcast counts or reaches them), and the
member notices the demo moderator's actions would send are withdrawn. The demo moderator's
role is revoked at the end, so it never receives a card. A database that already has members
is refused unless `force` is given.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from bot.engines.roles import Role, grant_role, revoke_role
from bot.engines.tasks import cancel_tasks
from bot.grievances.flow import GrievanceDesk
from bot.grievances.submission import ReportDraft, file_report
from bot.members.demographics import AGE_GROUPS
from bot.members.membership import record_consent, save_profile
from bot.moderation.actions import add_note, assign_case, move_case, reply_to_member
from bot.moderation.staff_names import set_display_name, set_on_duty
from bot.sessions.checkin import check_in
from bot.sessions.lifecycle import cancel_session_tasks
from bot.sessions.organiser_input import SessionDraft
from bot.sessions.organising import create_session
from bot.sessions.registration import register_for_session
from bot.surveys.lifecycle import import_survey, publish_survey
from bot.surveys.responses import submit_response
from bot.surveys.xlsform.reading import read_xlsform
from storage.database import Database, UnitOfWork
from storage.models import Grievance, GrievanceEntry, Member

from .content import CLOSING_REASONS, NOTES, REPLIES, REPORTS, SESSIONS, DemoReport

DEMO_IDS_FROM = 3_900_000_000_000_000  # far above any Telegram user id in use
DEMO_MODERATOR = DEMO_IDS_FROM
DEMO_MODERATOR_NAME = "Demo moderator"
MEMBER_COUNT = 60
SURVEY_RESPONSES = 40
FORM = Path(__file__).resolve().parents[2] / "docs" / "forms" / "community_needs_assessment.xlsx"
GOVERNORATE_WEIGHTS = {"anbar": 5, "nineveh": 5, "baghdad": 4, "basra": 3, "kirkuk": 2}


class DatabaseHasMembers(RuntimeError):
    """The database already holds members: demo data would mix with real people."""

    def __init__(self, members: int) -> None:
        super().__init__(members)
        self.members = members


@dataclass(frozen=True)
class DemoSummary:
    members: int
    sessions: int
    survey_id: int
    responses: int
    reports: int
    moved_along: int


def demo_member_ids() -> list[int]:
    return [DEMO_IDS_FROM + number for number in range(1, MEMBER_COUNT + 1)]


async def member_count(database: Database) -> int:
    async with database.unit_of_work(read_only=True) as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(Member)) or 0)


async def _members(database: Database, now: datetime, chooser: random.Random) -> list[int]:
    governorates = [code for code, weight in GOVERNORATE_WEIGHTS.items() for _ in range(weight)]
    ids = demo_member_ids()
    async with database.unit_of_work() as uow:
        for index, user_id in enumerate(ids):
            joined = now - timedelta(days=40 - index % 30, hours=index)
            language = "ar" if index % 2 == 0 else "en"
            await record_consent(
                uow, user_id, language=language, language_source="chosen", now=joined
            )
            await save_profile(
                uow,
                user_id,
                governorate=chooser.choice(governorates),
                age_group=chooser.choice(AGE_GROUPS),
                gender=("female", "male")[index % 2 if index % 7 else 0],
                now=joined,
            )
        await uow.session.execute(
            update(Member).where(Member.user_id.in_(ids)).values(unreachable=True)
        )
        await uow.commit()
    return ids


async def _sessions(database: Database, members: list[int], now: datetime) -> int:
    for number, demo in enumerate(SESSIONS):
        starts = (now + timedelta(days=demo.days_from_now)).replace(
            hour=7, minute=0, second=0, microsecond=0
        )
        # A session held in the past is created as it was a fortnight before it.
        created = min(now, starts - timedelta(days=14))
        draft = SessionDraft(
            title_ar=demo.title_ar,
            title_en=demo.title_en,
            description_ar=demo.description_ar,
            description_en=demo.description_en,
            governorate=demo.governorate,
            venue=demo.venue,
            venue_en=demo.venue_en,
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            capacity=demo.capacity,
        )
        async with database.unit_of_work() as uow:
            view = await create_session(
                uow, draft, actor_id=None, publish=demo.publish, now=created
            )
            if demo.publish:
                attendees = members[number * 7 : number * 7 + 18]
                tickets = [
                    await register_for_session(
                        uow,
                        session_id=view.id,
                        user_id=user_id,
                        language="ar" if user_id % 2 else "en",
                        now=created + timedelta(hours=position + 1),
                    )
                    for position, user_id in enumerate(attendees)
                ]
                if demo.days_from_now < 0:
                    await cancel_session_tasks(uow, view.id)  # its reminders are history
                    for ticket in tickets[:13]:
                        await check_in(
                            uow,
                            text=ticket.qr_text,
                            actor_id=DEMO_MODERATOR,
                            now=starts + timedelta(minutes=10),
                        )
            await uow.commit()
    return len(SESSIONS)


def _survey_answers(chooser: random.Random) -> dict[str, str]:
    """One plausible response to the example community needs assessment."""
    answers: dict[str, str] = {}
    answers["displaced"] = chooser.choice(("yes", "no", "no"))
    if answers["displaced"] == "yes":
        answers["returned"] = chooser.choice(("yes", "no"))
    household = chooser.randint(1, 11)
    answers["household_size"] = str(household)
    if household > 1:
        answers["children"] = str(chooser.randint(0, household - 1))
    needs = chooser.sample(("water", "electricity", "health", "education", "jobs", "housing"), 2)
    answers["priority_needs"] = " ".join(needs)
    if "water" in needs:
        answers["water_access"] = chooser.choice(("daily", "few_days", "weekly", "rarely"))
    answers["services_rating"] = chooser.choice(("very_poor", "poor", "poor", "fair", "good"))
    answers["feel_safe"] = chooser.choice(("yes", "yes", "no"))
    if answers["feel_safe"] == "no":
        answers["safety_concerns"] = chooser.choice(("crime", "tension", "explosives"))
    answers["dialogue_interest"] = chooser.choice(("yes", "yes", "no"))
    return answers


async def _survey(
    database: Database, members: list[int], now: datetime, chooser: random.Random
) -> tuple[int, int]:
    read = read_xlsform(FORM.read_bytes(), FORM.name)
    opened = now - timedelta(days=12)
    async with database.unit_of_work() as uow:
        summary = await import_survey(
            uow, read, actor_id=None, source_name=FORM.name, now=opened - timedelta(hours=1)
        )
        await publish_survey(uow, summary.id, actor_id=None, now=opened)
        for number, user_id in enumerate(members[:SURVEY_RESPONSES]):
            await submit_response(
                uow,
                summary.id,
                user_id,
                _survey_answers(chooser),
                opened + timedelta(hours=5 * number + 1),
            )
        await uow.commit()
    return summary.id, SURVEY_RESPONSES


async def _file(
    database: Database,
    desk: GrievanceDesk,
    report: DemoReport,
    reporter: int,
    filed_at: datetime,
) -> str:
    draft = ReportDraft(
        category=report.category,
        governorate=report.governorate,
        area=report.area,
        description=report.description,
        media=(),
        urgency=report.urgency,
        contactable=False,
        contact_details=None,
        language=report.language,
    )
    async with database.unit_of_work() as uow:
        filed = await file_report(
            uow,
            reporter,
            draft,
            filed_at,
            policy=desk.policy,
            cipher=desk.cipher,
            lexicon=desk.lexicon,
        )
        await uow.commit()
    return filed.reference


async def _move_along(
    database: Database,
    desk: GrievanceDesk,
    reference: str,
    stage: int,
    at: datetime,
    language: str,
) -> None:
    """Stage 1: taken and acknowledged; 2: also noted and replied to; 3: also closed."""
    steps: list[Callable[[UnitOfWork, datetime], Awaitable[object]]] = [
        lambda uow, t: assign_case(uow, desk, reference, DEMO_MODERATOR, t),
        lambda uow, t: move_case(uow, desk, reference, "acknowledged", DEMO_MODERATOR, t),
    ]
    if stage >= 2:
        steps += [
            lambda uow, t: add_note(uow, desk, reference, NOTES[language], DEMO_MODERATOR, t),
            lambda uow, t: move_case(uow, desk, reference, "in_review", DEMO_MODERATOR, t),
            lambda uow, t: reply_to_member(
                uow, desk, reference, REPLIES[language], DEMO_MODERATOR, t
            ),
        ]
    if stage >= 3:
        steps.append(
            lambda uow, t: move_case(
                uow,
                desk,
                reference,
                "closed",
                DEMO_MODERATOR,
                t,
                reason=CLOSING_REASONS[language],
            )
        )
    for number, step in enumerate(steps):
        async with database.unit_of_work() as uow:
            await step(uow, at + timedelta(hours=2 * number))
            await uow.commit()


async def _reports(
    database: Database, desk: GrievanceDesk, members: list[int], now: datetime
) -> tuple[int, int]:
    moved = 0
    references: list[str] = []
    for number, report in enumerate(REPORTS):
        filed_at = now - timedelta(days=27 - (number * 27) // len(REPORTS), hours=number % 9)
        reporter = members[number % len(members)]
        reference = await _file(database, desk, report, reporter, filed_at)
        references.append(reference)
        # The older a report, the further along it is; the newest stay new for trainees.
        stage = 3 if number % 6 == 0 else 2 if number % 4 == 0 else 1 if number % 3 == 0 else 0
        if stage and number < len(REPORTS) - 12 and report.category != "gbv":
            await _move_along(
                database, desk, reference, stage, filed_at + timedelta(hours=3), report.language
            )
            moved += 1
    async with database.unit_of_work() as uow:
        # Notices to demo members would go to chats that do not exist: withdraw them.
        entry_ids = await uow.session.scalars(
            select(GrievanceEntry.id)
            .join(Grievance, Grievance.id == GrievanceEntry.grievance_id)
            .where(Grievance.reference.in_(references))
        )
        for entry_id in entry_ids:
            await cancel_tasks(uow, f"grievance-notify:{entry_id}")
        await uow.commit()
    return len(REPORTS), moved


async def seed_demo_data(
    database: Database, desk: GrievanceDesk, now: datetime, *, force: bool = False, seed: int = 18
) -> DemoSummary:
    """Seed the demo data (see the module docstring); raises DatabaseHasMembers."""
    existing = await member_count(database)
    if existing and not force:
        raise DatabaseHasMembers(existing)
    chooser = random.Random(seed)
    async with database.unit_of_work() as uow:
        await grant_role(uow, actor_id=None, user_id=DEMO_MODERATOR, role=Role.MODERATOR, now=now)
        await set_display_name(uow, DEMO_MODERATOR, DEMO_MODERATOR_NAME, now)
        await set_on_duty(uow, DEMO_MODERATOR, False, now)
        await uow.commit()
    members = await _members(database, now, chooser)
    sessions = await _sessions(database, members, now)
    survey_id, responses = await _survey(database, members, now, chooser)
    reports, moved = await _reports(database, desk, members, now)
    async with database.unit_of_work() as uow:
        await revoke_role(uow, actor_id=None, user_id=DEMO_MODERATOR, role=Role.MODERATOR, now=now)
        await uow.commit()
    return DemoSummary(len(members), sessions, survey_id, responses, reports, moved)
