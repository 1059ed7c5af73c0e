"""Spike detection (SPEC §5): a clear rise alerts, ordinary noise never does, a small count
never does, and the staff group hears about each (governorate, category, day) once."""

from __future__ import annotations

import math
import random
from datetime import timedelta

from sqlalchemy import func, select

from bot.engines.tasks import schedule_task
from bot.moderation.schedule import SPIKE_TASK
from bot.moderation.spike_detection import BASELINE_DAYS, judge
from storage.models import SpikeAlert
from tests.fake_telegram import FakeBotApi
from tests.grievances.test_grievance_steps import running_bot
from tests.moderation.test_moderation_steps import GROUP_ID, new_case, next_with, seed_cases


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: good enough for small means."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def test_a_clear_rise_alerts() -> None:
    assert judge(12, [1, 0, 2, 1, 1, 0, 2] * 4).alert
    assert judge(30, [8, 10, 9, 11, 10, 9, 10] * 4).alert


def test_flat_series_with_poisson_noise_never_alert() -> None:
    alerts = 0
    for seed in range(200):
        rng = random.Random(seed)
        mean = rng.choice([0.3, 1.0, 2.0, 4.0, 8.0])
        series = [poisson(rng, mean) for _ in range(BASELINE_DAYS + 1)]
        alerts += judge(series[-1], series[:-1]).alert
    assert alerts == 0


def test_a_small_count_never_alerts_even_from_nothing() -> None:
    quiet = [0] * BASELINE_DAYS
    assert not judge(4, quiet).alert
    assert judge(5, quiet).alert
    assert not judge(4, quiet, min_count=5).alert
    assert not judge(40, quiet, min_count=50).alert


def test_growth_within_usual_variation_or_below_double_does_not_alert() -> None:
    assert not judge(15, [10] * BASELINE_DAYS).alert  # 1.5× a steady series
    assert not judge(20, [5, 15] * 14).alert  # inside mean + 3 sd


async def test_the_scheduled_check_alerts_the_staff_group_once(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url, MODERATOR_CHAT_ID=str(GROUP_ID)) as bot:
        now = bot.clock.now()
        rng = random.Random(7)
        cases = []
        number = 1000
        for day in range(1, BASELINE_DAYS + 1):
            for _ in range(poisson(rng, 0.5)):
                number += 1
                cases.append(new_case(number, now - timedelta(days=day, hours=3)))
        for hour in range(9):  # a rise in Anbar public services today
            number += 1
            cases.append(new_case(number, now - timedelta(hours=hour + 1)))
        for hour in range(3):  # and a few elsewhere: no alert
            number += 1
            cases.append(new_case(number, now - timedelta(hours=hour + 1), governorate="basra"))
        await seed_cases(bot, cases)

        async with bot.db.unit_of_work() as uow:
            for key in ("a", "b"):  # two runs on the same day
                await schedule_task(
                    uow, kind=SPIKE_TASK, payload={}, due_at=now, now=now, dedupe_key=key
                )
            await uow.commit()
        alert = await next_with(fake_api, GROUP_ID, "📈")  # the group reads Arabic (default)
        assert (
            "٩ بلاغات" in alert.content.replace("\u2068", "").replace("\u2069", "")
            and "الأنبار" in alert.content
            and "البصرة" not in alert.content
        )
        await bot.idle()
        alerts = [m for m in fake_api.messages_to(GROUP_ID) if "📈" in m.content]
        assert len(alerts) == 1
        async with bot.db.unit_of_work() as uow:
            assert await uow.session.scalar(select(func.count()).select_from(SpikeAlert)) == 1
