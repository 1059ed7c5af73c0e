"""Figures for /stats (SPEC §4.1, §5): counts, service times, overdue cases, weekly trends.

- counts by status cover every case (an index-only count);
- counts by category and governorate cover reports received in the last `RECENT_DAYS`;
- median times to acknowledge and to resolve cover reports received in the last
  `MEDIAN_DAYS` (streamed, never all cases in memory);
- the weekly trend of a governorate is drawn as a PNG line chart per category.

With a governorate (`/stats nineveh`), every figure covers only that governorate's cases as
the viewer may know them.

Every count goes through `bot.engines.disclosure` with the threshold of internal case counts,
`HIWAR_STAFF_STATS_MIN_COUNT` (default 1: moderators, who may open each case in /queue
anyway, see every count; raise it to show small counts as "<N" and, where a total or the
other cells would give them away, one more cell as "hidden"). Organisers, who cannot open
cases, never see counts under the members' threshold (`THRESHOLD`, 5). For staff without the
safeguarding role a safeguarding case's governorate is unknown, as on its card: it is
counted under "restricted" and left out of a governorate's figures and trend.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as PlotFigure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from sqlalchemy import case, func, literal, select, text
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement, SQLCoreOperations

from bot.config import ConfigError
from bot.engines.charts import (
    DPI,
    FONT,
    INK,
    LABEL_PT,
    MUTED,
    SMALL_PT,
    TITLE_PT,
    WIDTH_PX,
    fitted_lines,
    for_display,
    line_height,
    localised_digits,
    png_bytes,
)
from bot.engines.disclosure import THRESHOLD, Figure, protect_counts
from storage.database import UnitOfWork
from storage.models import Grievance
from storage.models.moderation import OPEN_CASES_SQL

RESTRICTED = "restricted"
OPEN_STATUSES = ("new", "acknowledged", "in_review", "escalated")
RECENT_DAYS = 30
MEDIAN_DAYS = 90
TREND_WEEKS = 12
STAFF_STATS_MIN_COUNT = "HIWAR_STAFF_STATS_MIN_COUNT"
DEFAULT_STAFF_STATS_MIN_COUNT = 1
MAX_STAFF_STATS_MIN_COUNT = 100


def staff_stats_threshold(extra: Mapping[str, str]) -> int:
    """The threshold of internal case counts (/stats, the daily digest) from the settings."""
    raw = (extra.get(STAFF_STATS_MIN_COUNT) or "").strip()
    if not raw:
        return DEFAULT_STAFF_STATS_MIN_COUNT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_STAFF_STATS_MIN_COUNT:
        raise ConfigError(
            f"{STAFF_STATS_MIN_COUNT} must be a whole number from 1 to"
            f" {MAX_STAFF_STATS_MIN_COUNT}, got {raw!r}"
        )
    return int(raw)


@dataclass(frozen=True)
class Cell:
    key: str
    count: Figure


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
    # per category: weekly counts, None where suppressed (under the threshold)
    series: dict[str, tuple[int | None, ...]]


def _protected(counts: list[tuple[str, int]], threshold: int) -> list[Cell]:
    figures = protect_counts([count for _, count in counts], threshold=threshold)
    return [Cell(key, figure) for (key, _), figure in zip(counts, figures, strict=True)]


Condition = ColumnElement[bool]


async def _grouped(
    uow: UnitOfWork,
    column: SQLCoreOperations[str],
    since: datetime | None,
    where: tuple[Condition, ...] = (),
) -> list[tuple[str, int]]:
    """(key, count) of the raw figures, largest first (the order shown is `_in_order`)."""
    query = select(column, func.count()).select_from(Grievance).where(*where).group_by(column)
    if since is not None:
        query = query.where(Grievance.created_at >= since)
    rows = await uow.session.execute(query)
    return sorted(((str(k), int(n)) for k, n in rows.tuples()), key=lambda c: (-c[1], c[0]))


def _in_order(cells: list[Cell]) -> tuple[Cell, ...]:
    """Shown counts largest first, then hidden ones by key: order reveals no hidden size."""
    return tuple(
        sorted(
            cells,
            key=lambda c: (c.count.hidden, -(c.count.value or 0), c.key == RESTRICTED, c.key),
        )
    )


def governorate_as_seen(may_see_safeguarding: bool) -> SQLCoreOperations[str]:
    """A case's governorate as this viewer may know it."""
    if may_see_safeguarding:
        return Grievance.governorate
    return case(
        (Grievance.safeguarding.is_(True), literal(RESTRICTED)), else_=Grievance.governorate
    )


async def _median_hours(
    uow: UnitOfWork,
    since: datetime,
    milestone: InstrumentedAttribute[datetime | None],
    where: tuple[Condition, ...] = (),
) -> float | None:
    durations = array("d")
    rows = await uow.session.stream(
        select(Grievance.created_at, milestone)
        .where(Grievance.created_at >= since, milestone.is_not(None), *where)
        .execution_options(yield_per=5000)
    )
    async for created_at, reached_at in rows:
        durations.append((reached_at - created_at).total_seconds() / 3600)
    return float(median(durations)) if durations else None


async def overdue_count(uow: UnitOfWork, now: datetime, where: tuple[Condition, ...] = ()) -> int:
    count = await uow.session.scalar(
        select(func.count())
        .select_from(Grievance)
        .where(
            Grievance.status == "new",
            Grievance.ack_due_at < now,
            Grievance.acknowledged_at.is_(None),
            *where,
        )
    )
    return int(count or 0)


async def case_stats(
    uow: UnitOfWork,
    now: datetime,
    *,
    may_see_safeguarding: bool = False,
    threshold: int = THRESHOLD,
    governorate: str | None = None,
) -> CaseStats:
    """The /stats figures, of every case or of one governorate's (as the viewer may know it).

    Open and closed statuses are protected as two breakdowns, since both the total and the
    number of open cases are shown."""
    seen_governorate = governorate_as_seen(may_see_safeguarding)
    where: tuple[Condition, ...] = (
        (seen_governorate == governorate,) if governorate is not None else ()
    )
    statuses = await _grouped(uow, Grievance.status, None, where)
    open_part = [c for c in statuses if c[0] in OPEN_STATUSES]
    closed_part = [c for c in statuses if c[0] not in OPEN_STATUSES]
    by_status = _protected(open_part, threshold) + _protected(closed_part, threshold)
    recent = now - timedelta(days=RECENT_DAYS)
    open_cases = await uow.session.scalar(
        select(func.count()).select_from(Grievance).where(text(OPEN_CASES_SQL), *where)
    )
    since = now - timedelta(days=MEDIAN_DAYS)
    by_category = await _grouped(uow, Grievance.category, recent, where)
    by_governorate = await _grouped(uow, seen_governorate, recent) if governorate is None else []
    return CaseStats(
        by_status=_in_order(by_status),
        by_category=_in_order(_protected(by_category, threshold)),
        by_governorate=_in_order(_protected(by_governorate, threshold)),
        total=sum(count for _, count in statuses),
        open_cases=int(open_cases or 0),
        overdue=await overdue_count(uow, now, where),
        median_ack_hours=await _median_hours(uow, since, Grievance.acknowledged_at, where),
        median_resolve_hours=await _median_hours(uow, since, Grievance.resolved_at, where),
    )


def week_start(moment: datetime) -> date:
    day = moment.date()
    return day - timedelta(days=day.weekday())


async def weekly_trend(
    uow: UnitOfWork,
    governorate: str,
    now: datetime,
    weeks: int = TREND_WEEKS,
    *,
    may_see_safeguarding: bool = False,
    threshold: int = THRESHOLD,
) -> Trend:
    """Reports per category and week (Monday to Sunday, UTC) over the last `weeks` weeks.

    No totals are drawn, so each week's count stands alone: under the threshold it is a gap.
    """
    first = week_start(now) - timedelta(weeks=weeks - 1)
    starts = tuple(first + timedelta(weeks=index) for index in range(weeks))
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * weeks)
    rows = await uow.session.stream(
        select(Grievance.category, Grievance.created_at)
        .where(
            governorate_as_seen(may_see_safeguarding) == governorate,
            Grievance.created_at >= datetime.combine(first, datetime.min.time(), now.tzinfo),
        )
        .execution_options(yield_per=2000)
    )
    async for category_code, created_at in rows:
        index = (week_start(created_at) - first).days // 7
        if 0 <= index < weeks:
            counts[category_code][index] += 1
    series = {
        code: tuple(None if 0 < value < threshold else value for value in values)
        for code, values in sorted(counts.items())
        if sum(values) >= threshold
    }
    return Trend(governorate, starts, series)


def trend_chart_png(
    trend: Trend, labels: dict[str, str], *, title: str, caption: str, right_to_left: bool
) -> bytes:
    """Weekly reports per category as lines; suppressed weeks are gaps in the line.

    Drawn for a phone like every chart (`bot.engines.charts`): 1080 px square, text of 26 px
    and more, the legend under the plot, and the numbers in the reader's digits (Arabic-Indic
    in Arabic, where the weeks run from right to left)."""
    language = "ar" if right_to_left else "en"
    title_lines = fitted_lines(title, WIDTH_PX - 96, TITLE_PT, 3, bold=True)
    caption_lines = fitted_lines(caption, WIDTH_PX - 96, SMALL_PT, 3)
    figure = PlotFigure(figsize=(WIDTH_PX / DPI, WIDTH_PX / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(figure)
    top = 1 - (48 + len(title_lines) * line_height(TITLE_PT) + 24) / WIDTH_PX
    legend_rows = -(-len(trend.series) // 2)
    bottom_px = 48 + len(caption_lines) * line_height(SMALL_PT) + 24
    bottom_px += legend_rows * line_height(LABEL_PT - 2) + 40 + line_height(SMALL_PT)
    axes = figure.add_axes((0.1, bottom_px / WIDTH_PX, 0.82, top - bottom_px / WIDTH_PX))
    positions = list(range(len(trend.weeks)))
    for code, values in trend.series.items():
        points = [float("nan") if value is None else float(value) for value in values]
        name = for_display(labels.get(code, code), right_to_left)
        axes.plot(positions, points, marker="o", linewidth=3, markersize=8, label=name)
    shown = positions[::2] if len(positions) > 7 else positions
    weeks = [localised_digits(language, trend.weeks[index].strftime("%d/%m")) for index in shown]
    axes.set_xticks(shown, weeks, fontsize=SMALL_PT, fontfamily=FONT)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_formatter(
        FuncFormatter(lambda value, _position: localised_digits(language, f"{value:.0f}"))
    )
    axes.tick_params(axis="y", labelsize=SMALL_PT)
    axes.set_ylim(bottom=0)
    axes.grid(axis="y", color="#e3ecf0")
    for side in ("top", "left" if right_to_left else "right"):
        axes.spines[side].set_visible(False)
    if right_to_left:
        axes.invert_xaxis()
        axes.yaxis.tick_right()
    if trend.series:
        axes.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.08),
            ncols=2,
            frameon=False,
            markerfirst=not right_to_left,
            prop={"family": FONT, "size": LABEL_PT - 2},
        )
    x, align = (1 - 48 / WIDTH_PX, "right") if right_to_left else (48 / WIDTH_PX, "left")
    y = 1 - 48 / WIDTH_PX
    for line in title_lines:
        figure.text(
            x,
            y,
            for_display(line, right_to_left),
            ha=align,
            va="top",
            fontsize=TITLE_PT,
            weight="bold",
            fontfamily=FONT,
            color=INK,
        )
        y -= line_height(TITLE_PT) / WIDTH_PX
    y = (48 + len(caption_lines) * line_height(SMALL_PT)) / WIDTH_PX
    for line in caption_lines:
        figure.text(
            x,
            y,
            for_display(line, right_to_left),
            ha=align,
            va="top",
            fontsize=SMALL_PT,
            fontfamily=FONT,
            color=MUTED,
        )
        y -= line_height(SMALL_PT) / WIDTH_PX
    return png_bytes(figure)
