"""Writes the example images under docs/examples/, to look at what the bot sends.

    python bench/example_images.py

Each kind of image has its own function below, listed in `WRITERS`; add a new kind as one more
function there. Every image is drawn by the same code the bot runs, from made-up data (no
database, no network).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.engines.posters import poster_png  # noqa: E402
from bot.engines.share_links import start_url  # noqa: E402
from bot.grievances.directory import category  # noqa: E402
from bot.grievances.stats import TREND_WEEKS, Trend, trend_chart_png  # noqa: E402
from bot.sessions import posters as session_posters  # noqa: E402
from bot.sessions.lifecycle import SessionView  # noqa: E402
from bot.surveys import posters as survey_posters  # noqa: E402
from bot.surveys.album import results_album  # noqa: E402
from bot.surveys.lifecycle import SurveyStatus, SurveySummary  # noqa: E402
from bot.surveys.presentation import group_labels  # noqa: E402
from bot.surveys.results import Respondent, ResponseRow, compute_results  # noqa: E402
from bot.surveys.xlsform.reading import read_xlsform  # noqa: E402
from messages import shared_catalogue  # noqa: E402

EXAMPLES = ROOT / "docs" / "examples"
BOT = "hiwar_bot"
NEEDS_FORM = ROOT / "docs" / "forms" / "community_needs_assessment.xlsx"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
GOVERNORATES = ("baghdad", "nineveh", "basra", "anbar")
# (priority needs, how many people): 155 respondents; "jobs" alone is chosen by 3 people, so it
# is drawn as "<5", and the smallest other count, which would reveal it, as "hidden".
NEEDS = (
    ("water health", 41),
    ("water", 23),
    ("housing water", 19),
    ("electricity", 17),
    ("health education", 14),
    ("education", 11),
    ("electricity health", 9),
    ("documents water", 7),
    ("housing", 6),
    ("other", 5),
    ("jobs", 3),
)


def survey_chart_images(directory: Path) -> list[Path]:
    """The chart of one choice question (several answers allowed), in Arabic and English."""
    form = read_xlsform(NEEDS_FORM.read_bytes()).form
    question = form.question("priority_needs")
    people: list[Respondent] = []
    for answer, count in NEEDS:
        for index in range(count):
            profile = {
                "governorate": GOVERNORATES[index % len(GOVERNORATES)],
                "gender": ("female", "male")[index % 2],
                "age_group": "not_given",
            }
            row = ResponseRow(f"{len(people):032x}", NOW, {question.key: answer})
            people.append(Respondent(row, profile))
    summary = SurveySummary(
        3,
        form.form_id,
        form.titles["en"],
        form.titles["ar"],
        SurveyStatus.OPEN,
        len(people),
        NOW,
        NOW,
        None,
    )
    results = compute_results(summary, form, people)
    catalogue = shared_catalogue(ZoneInfo("Asia/Baghdad"))
    written = []
    for language in ("ar", "en"):
        album = results_album(results, catalogue, language, group_labels(catalogue, language))
        photo = next(p for p in album.photos if p.filename.endswith("-priority_needs.png"))
        path = directory / f"chart-{language}.png"
        path.write_bytes(photo.png)
        written.append(path)
    return written


def stats_trend_images(directory: Path) -> list[Path]:
    """The /stats weekly trend of one governorate, in Arabic and English (gaps: weeks with
    1 to 4 reports, suppressed)."""
    weeks = tuple(date(2026, 9, 7) + timedelta(weeks=index) for index in range(TREND_WEEKS))
    series = {
        "public_services": (5, 8, None, 12, 9, 0, 7, 15, 11, None, 6, 9),
        "security": (None, 5, 6, 0, None, 9, 13, 8, 7, 5, None, 6),
        "land_property": (0, 0, 5, 7, None, None, 5, 6, 9, 10, 8, 5),
    }
    trend = Trend("anbar", weeks, series)
    catalogue = shared_catalogue(ZoneInfo("Asia/Baghdad"))
    written = []
    for language in ("ar", "en"):
        governorate = catalogue.plain(language, "governorate.anbar")
        labels = {code: category(code).labels.get(language, code) for code in series}
        png = trend_chart_png(
            trend,
            labels,
            title=catalogue.plain(
                language, "moderation.stats.chart_title", governorate=governorate
            ),
            caption=catalogue.plain(language, "moderation.stats.chart_caption", threshold=5),
            right_to_left=language == "ar",
        )
        path = directory / f"trend-{language}.png"
        path.write_bytes(png)
        written.append(path)
    return written


def poster_images(directory: Path) -> list[Path]:
    """The A4 posters `/poster s12` and `/poster v7` send."""
    catalogue = shared_catalogue(ZoneInfo("Asia/Baghdad"))
    session = SessionView(
        id=12,
        version=1,
        status="published",
        title_ar="حوار شباب الموصل حول الخدمات العامة",
        title_en="Mosul youth dialogue on public services",
        description_ar="",
        description_en="",
        governorate="nineveh",
        venue="قاعة جامعة الموصل المركزية",
        venue_en="Central hall, University of Mosul",
        starts_at=datetime(2026, 12, 5, 14, 0, tzinfo=UTC),
        ends_at=datetime(2026, 12, 5, 16, 0, tzinfo=UTC),
        capacity=40,
        reserved_women=10,
        reserved_youth=10,
        reminder_minutes=(1440,),
        confirmed=0,
        waiting=0,
    )
    survey = SurveySummary(
        7,
        "community_needs",
        "Community needs assessment",
        "تقييم احتياجات المجتمع",
        SurveyStatus.OPEN,
        0,
        NOW,
        NOW,
        None,
    )
    written = []
    for name, poster in (
        (
            "poster-session.png",
            session_posters.poster_of(catalogue, session, start_url(BOT, "s12")),
        ),
        ("poster-survey.png", survey_posters.poster_of(catalogue, survey, start_url(BOT, "v7"))),
    ):
        path = directory / name
        path.write_bytes(poster_png(poster))
        written.append(path)
    return written


WRITERS: tuple[Callable[[Path], list[Path]], ...] = (
    survey_chart_images,
    stats_trend_images,
    poster_images,
)


def main() -> None:
    EXAMPLES.mkdir(parents=True, exist_ok=True)
    for writer in WRITERS:
        for path in writer(EXAMPLES):
            print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
