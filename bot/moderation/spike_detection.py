"""Early identification (SPEC §5): unusual rises of reports per governorate and category.

The method, for each (governorate, category):

- `count` = reports received in the last 24 hours;
- the baseline = the daily counts of the 28 days before that (days with no report count as
  zero), summarised by their mean and (population) standard deviation;
- an alert is raised when **all three** hold: `count >= minimum` (HIWAR_SPIKE_MIN_COUNT,
  default 5, so an alert can never point at one person or one family), `count >= mean + 3·sd`
  (far outside the usual day-to-day variation) and `count >= 2·mean` (at least a doubling,
  so that busy cells with a tiny sd do not alert on ordinary growth).

Each (governorate, category, day) is alerted at most once (`spike_alerts`), and the alert
carries only counts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from storage.database import UnitOfWork
from storage.models import Grievance, SpikeAlert
from storage.upsert import insert_for

BASELINE_DAYS = 28
DEFAULT_MIN_COUNT = 5
SIGMAS = 3.0
MIN_RATIO = 2.0


@dataclass(frozen=True)
class SpikeVerdict:
    alert: bool
    count: int
    mean: float
    sd: float


@dataclass(frozen=True)
class Spike:
    governorate: str
    category: str
    count: int
    mean: float
    sd: float


def judge(count: int, baseline: Sequence[int], min_count: int = DEFAULT_MIN_COUNT) -> SpikeVerdict:
    """Is `count` (last 24 h) an unusual rise over the daily `baseline` counts?"""
    days = len(baseline) or 1
    mean = sum(baseline) / days
    sd = math.sqrt(sum((value - mean) ** 2 for value in baseline) / days)
    alert = count >= min_count and count >= mean + SIGMAS * sd and count >= MIN_RATIO * mean
    return SpikeVerdict(alert, count, mean, sd)


async def find_spikes(
    uow: UnitOfWork, now: datetime, *, min_count: int = DEFAULT_MIN_COUNT
) -> list[Spike]:
    """Cells whose last 24 hours are an unusual rise (reads 29 days of the created_at index)."""
    window_start = now - timedelta(days=BASELINE_DAYS + 1)
    recent: dict[tuple[str, str], int] = defaultdict(int)
    daily: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * BASELINE_DAYS)
    rows = await uow.session.stream(
        select(Grievance.governorate, Grievance.category, Grievance.created_at)
        .where(Grievance.created_at >= window_start, Grievance.created_at < now)
        .execution_options(yield_per=2000)
    )
    async for governorate, category_code, created_at in rows:
        cell = (governorate, category_code)
        age = now - created_at
        if age < timedelta(days=1):
            recent[cell] += 1
        else:
            day_index = min(int(age / timedelta(days=1)) - 1, BASELINE_DAYS - 1)
            daily[cell][day_index] += 1
    spikes = []
    for cell, count in sorted(recent.items()):
        verdict = judge(count, daily.get(cell, [0] * BASELINE_DAYS), min_count)
        if verdict.alert:
            spikes.append(Spike(cell[0], cell[1], count, verdict.mean, verdict.sd))
    return spikes


async def record_alert(uow: UnitOfWork, spike: Spike, day: date, now: datetime) -> bool:
    """Remember the alert of (governorate, category, day); False if it was alerted already."""
    statement = (
        insert_for(uow.session, SpikeAlert)
        .values(
            governorate=spike.governorate,
            category=spike.category,
            day=day,
            count=spike.count,
            baseline_mean=spike.mean,
            baseline_sd=spike.sd,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["governorate", "category", "day"])
    )
    result = await uow.session.execute(statement)
    return bool(getattr(result, "rowcount", 0))
