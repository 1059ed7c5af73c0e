"""Figures for /stats (SPEC §4.1, §5): counts, service times, overdue cases, weekly trends.

- counts by status cover every case (an index-only count);
- counts by category and governorate cover reports received in the last `RECENT_DAYS`;
- median times to acknowledge and to resolve cover reports received in the last
  `MEDIAN_DAYS` (streamed, never all cases in memory);
- the weekly trend of a governorate is drawn as a PNG line chart per category.

Small cells (1 to 4 reports) are shown as "<5" so that a figure never points at a person.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from io import BytesIO
from statistics import median

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sqlalchemy import func, select, text
from sqlalchemy.orm import InstrumentedAttribute

from bot.surveys.charts import for_display
from storage.database import UnitOfWork
from storage.models import Grievance
from storage.models.moderation import OPEN_CASES_SQL

SMALL_CELL = 5
RECENT_DAYS = 30
MEDIAN_DAYS = 90
TREND_WEEKS = 12


@dataclass(frozen=True)
class Cell:
    key: str
    count: int

    @property
    def suppressed(self) -> bool:
        return 0 < self.count < SMALL_CELL


@dataclass(frozen=True)
class CaseStats:
    by_status: tuple[Cell, ...]
    by_category: tuple[Cell, ...]  # last RECENT_DAYS
    by_governorate: tuple[Cell, ...]  # last RECENT_DAYS
    total: int
    open_cases: int
    overdue: int
    median_ack_hours: float | None
    median_resolve_hours: float | None


@dataclass(frozen=True)
class Trend:
    governorate: str
    weeks: tuple[date, ...]
    # per category: weekly counts, None where suppressed (1 to 4 reports)
    series: dict[str, tuple[int | None, ...]]


def shown(count: int) -> str:
    return "<5" if 0 < count < SMALL_CELL else str(count)


async def _grouped(
    uow: UnitOfWork, column: InstrumentedAttribute[str], since: datetime | None
) -> tuple[Cell, ...]:
    query = select(column, func.count()).select_from(Grievance).group_by(column)
    if since is not None:
        query = query.where(Grievance.created_at >= since)
    rows = await uow.session.execute(query)
    cells = [Cell(str(key), int(count)) for key, count in rows.tuples()]
    return tuple(sorted(cells, key=lambda cell: (-cell.count, cell.key)))


async def _median_hours(
    uow: UnitOfWork, since: datetime, milestone: InstrumentedAttribute[datetime | None]
) -> float | None:
    durations = array("d")
    rows = await uow.session.stream(
        select(Grievance.created_at, milestone)
        .where(Grievance.created_at >= since, milestone.is_not(None))
        .execution_options(yield_per=5000)
    )
    async for created_at, reached_at in rows:
        durations.append((reached_at - created_at).total_seconds() / 3600)
    return float(median(durations)) if durations else None


async def overdue_count(uow: UnitOfWork, now: datetime) -> int:
    count = await uow.session.scalar(
        select(func.count())
        .select_from(Grievance)
        .where(
            Grievance.status == "new",
            Grievance.ack_due_at < now,
            Grievance.acknowledged_at.is_(None),
        )
    )
    return int(count or 0)


async def case_stats(uow: UnitOfWork, now: datetime) -> CaseStats:
    by_status = await _grouped(uow, Grievance.status, None)
    recent = now - timedelta(days=RECENT_DAYS)
    open_cases = await uow.session.scalar(
        select(func.count()).select_from(Grievance).where(text(OPEN_CASES_SQL))
    )
    since = now - timedelta(days=MEDIAN_DAYS)
    return CaseStats(
        by_status=by_status,
        by_category=await _grouped(uow, Grievance.category, recent),
        by_governorate=await _grouped(uow, Grievance.governorate, recent),
        total=sum(cell.count for cell in by_status),
        open_cases=int(open_cases or 0),
        overdue=await overdue_count(uow, now),
        median_ack_hours=await _median_hours(uow, since, Grievance.acknowledged_at),
        median_resolve_hours=await _median_hours(uow, since, Grievance.resolved_at),
    )


def week_start(moment: datetime) -> date:
    day = moment.date()
    return day - timedelta(days=day.weekday())


async def weekly_trend(
    uow: UnitOfWork, governorate: str, now: datetime, weeks: int = TREND_WEEKS
) -> Trend:
    """Reports per category and week (Monday to Sunday, UTC) over the last `weeks` weeks."""
    first = week_start(now) - timedelta(weeks=weeks - 1)
    starts = tuple(first + timedelta(weeks=index) for index in range(weeks))
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * weeks)
    rows = await uow.session.stream(
        select(Grievance.category, Grievance.created_at)
        .where(
            Grievance.governorate == governorate,
            Grievance.created_at >= datetime.combine(first, datetime.min.time(), now.tzinfo),
        )
        .execution_options(yield_per=2000)
    )
    async for category_code, created_at in rows:
        index = (week_start(created_at) - first).days // 7
        if 0 <= index < weeks:
            counts[category_code][index] += 1
    series = {
        code: tuple(None if 0 < value < SMALL_CELL else value for value in values)
        for code, values in sorted(counts.items())
        if sum(values) >= SMALL_CELL
    }
    return Trend(governorate, starts, series)


def trend_chart_png(
    trend: Trend, labels: dict[str, str], *, title: str, caption: str, right_to_left: bool
) -> bytes:
    """Weekly reports per category as lines; suppressed weeks are gaps in the line."""
    figure = Figure(figsize=(9, 4.8), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    positions = list(range(len(trend.weeks)))
    for code, values in trend.series.items():
        points = [float("nan") if value is None else float(value) for value in values]
        axes.plot(positions, points, marker="o", label=for_display(labels.get(code, code)))
    axes.set_xticks(positions, [week.strftime("%d/%m") for week in trend.weeks], fontsize=8)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(bottom=0)
    if right_to_left:
        axes.invert_xaxis()
        axes.yaxis.tick_right()
    if trend.series:
        axes.legend(fontsize=8, loc="upper left" if right_to_left else "upper right")
    axes.set_title(for_display(title), fontsize=12)
    figure.text(0.5, 0.01, for_display(caption), ha="center", fontsize=9, color="#555555")
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    out = BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
