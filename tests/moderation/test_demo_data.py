"""`python -m bot demo-data` (issue 18): a training database seeded through the real services,
refused where members already exist unless `--force`; the desk then shows the cases."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from bot.demo.seeding import DEMO_IDS_FROM, MEMBER_COUNT
from bot.engines.roles import Role
from storage.models import (
    DialogueSession,
    Grievance,
    GrievanceReporter,
    Member,
    SessionRegistration,
    Survey,
    SurveyResponse,
)
from tests.fake_telegram import FakeBotApi
from tests.grievances.test_grievance_steps import running_bot, staff_member
from tests.support.harness import BotHarness

REPO = Path(__file__).resolve().parents[2]
TRAINEE = 9901


async def demo_data(database_url: str, tmp_path: Path, *arguments: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "HIWAR_"))}
    env.update(PYTHONPATH=str(REPO), DATABASE_URL=database_url)
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "demo-data", *arguments],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=300,
    )
    return done.returncode, (done.stdout + done.stderr).decode(errors="replace")


async def count(bot: BotHarness, model: type[object], *where: object) -> int:
    async with bot.db.unit_of_work(read_only=True) as uow:
        query = select(func.count()).select_from(model)  # type: ignore[arg-type]
        return int(await uow.session.scalar(query.where(*where)) or 0)  # type: ignore[arg-type]


async def test_demo_data_seeds_a_desk_to_train_on_and_refuses_a_database_with_members(
    fake_api: FakeBotApi, database_url: str, tmp_path: Path
) -> None:
    code, output = await demo_data(database_url, tmp_path)
    assert code == 0, output
    assert "demo data seeded: 60 members, 3 sessions" in output and "52 reports" in output

    code, refused = await demo_data(database_url, tmp_path)
    assert code == 1 and "already has 60 members" in refused and "--force" in refused

    async with running_bot(fake_api, database_url) as bot:
        assert await count(bot, Member) == MEMBER_COUNT
        assert await count(bot, Member, Member.language == "ar") == MEMBER_COUNT // 2
        assert await count(bot, Member, Member.unreachable.is_(False)) == 0
        assert await count(bot, Grievance) == 52
        reporters = await count(bot, GrievanceReporter, GrievanceReporter.language == "ar")
        assert 20 <= reporters <= 32  # reports in both languages
        assert await count(bot, Grievance, Grievance.status == "new") >= 30
        assert await count(bot, Grievance, Grievance.status == "closed") >= 3
        assert await count(bot, DialogueSession) == 3
        assert await count(bot, SessionRegistration) == 36
        assert (
            await count(bot, SessionRegistration, SessionRegistration.checked_in_at.is_not(None))
            == 13
        )
        assert await count(bot, Survey, Survey.status == "open") == 1
        assert await count(bot, SurveyResponse, SurveyResponse.submitted_at.is_not(None)) == 40
        assert await count(bot, Member, Member.user_id < DEMO_IDS_FROM) == 0

        trainee = await staff_member(bot, TRAINEE, Role.MODERATOR)
        trainee.command("/queue")
        queue = await trainee.reply(timeout=30)
        assert "GR-" in queue.content and len(queue.buttons()) >= 8
        trainee.command("/stats")
        stats = (await trainee.reply(timeout=30)).content
        assert "All cases: 52" in stats and "Nineveh" in stats
        async with bot.db.unit_of_work(read_only=True) as uow:
            closed = await uow.session.scalar(
                select(Grievance.reference).where(Grievance.status == "closed").limit(1)
            )
        trainee.command(f"/audit {closed}")
        trail = (await trainee.reply(timeout=30)).content
        assert "<b>Demo moderator (no staff role now)</b> changed the status of" in trail
        assert "Reason:" in trail

    # With --force the demo data is added anyway (the members already there stay).
    code, output = await demo_data(database_url, tmp_path, "--force")
    assert code == 0, output
