"""/results on a phone (issue 19): one summary message, then the charts as an album of photos
with counts and percentages (none for a suppressed count), captions within Telegram's limit,
and one digit style per language, the same in charts, captions and messages; "<5" reads
right in Arabic."""

from __future__ import annotations

import dataclasses
import re
import struct
import unicodedata
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from bot.engines.charts import MAX_HEIGHT_PX, WIDTH_PX, for_display
from bot.engines.disclosure import Figure, Mark, wording
from bot.grievances.stats import Trend, trend_chart_png
from bot.surveys.album import (
    CAPTION_LIMIT,
    ChartPhoto,
    album_batches,
    results_album,
    visible_length,
)
from bot.surveys.charts import ChartRow, ChartWords, split_rows
from bot.surveys.lifecycle import SurveyStatus, SurveySummary
from bot.surveys.presentation import group_labels, percentage
from bot.surveys.results import (
    NOT_GIVEN,
    Respondent,
    ResponseRow,
    SurveyResults,
    compute_results,
)
from bot.surveys.xlsform.form import Option
from messages import shared_catalogue
from storage.models import SurveyAnswer, SurveyResponse
from tests.fake_telegram import SentMessage
from tests.support.harness import BotHarness
from tests.surveys.test_survey_steps import WAIT, import_form, make_organiser, needs_form, text

CATALOGUE = shared_catalogue(ZoneInfo("Asia/Baghdad"))
ORGANISER_AR, ORGANISER_EN = 9301, 9302
MARKS = dict.fromkeys(map(ord, "\u2066\u2067\u2068\u2069\u200e\u200f\u061c"))
# 60 responses: displaced yes 40 / no 20; "jobs" chosen by 3 (so "<5", with no percentage).
ANSWERS = [
    {
        "displaced": "yes" if index < 40 else "no",
        "priority_needs": "water jobs"
        if index < 3
        else ("water health" if index % 2 else "water"),
        "water_access": ("daily", "weekly", "rarely")[index % 3],
        "services_rating": ("poor", "fair")[index % 2],
        "feel_safe": "yes",
        "dialogue_interest": "yes" if index % 4 else "no",
    }
    for index in range(60)
]


def png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def plain(markup: str) -> str:
    return re.sub(r"<[^>]+>", "", markup).translate(MARKS).replace("&lt;", "<")


async def store_responses(bot: BotHarness, survey_id: int) -> None:
    """Submitted responses written as the flow stores them (answering 60 times in the chat is
    another test's work); /results then runs through the real bot."""
    now = datetime.now(UTC)
    async with bot.db.unit_of_work() as uow:
        for index, answers in enumerate(ANSWERS):
            response_id = await uow.session.scalar(
                insert(SurveyResponse)
                .values(
                    survey_id=survey_id,
                    user_id=None,
                    response_uid=f"{index:032x}",
                    started_at=now,
                    submitted_at=now,
                    revisions=0,
                )
                .returning(SurveyResponse.id)
            )
            for name, value in answers.items():
                uow.session.add(SurveyAnswer(response_id=response_id, name=name, value=value))
        await uow.commit()


async def results_messages(
    bot: BotHarness, user_id: int, language: str, command: str
) -> list[SentMessage]:
    organiser = bot.user(user_id, language)
    organiser.command(command)
    received: list[SentMessage] = []
    done = text(language, "surveys.results.files_sent")
    while not received or received[-1].content != done:
        received.append(await organiser.reply(WAIT))
    return received


async def test_results_are_a_summary_and_an_album_of_charts_in_each_language(
    bot: BotHarness,
) -> None:
    survey_id = await import_form(bot)
    await store_responses(bot, survey_id)
    await make_organiser(bot, ORGANISER_AR)
    await make_organiser(bot, ORGANISER_EN)
    choice_questions = [q for q in needs_form().questions if q.is_choice]

    # In Arabic, with the survey number typed in Arabic-Indic digits.
    arabic_id = str(survey_id).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    received = await results_messages(bot, ORGANISER_AR, "ar", f"/results {arabic_id}")
    summary, *rest = received
    photos = [m for m in rest if m.kind == "photo"]
    assert summary.kind == "text" and [m.kind for m in rest[: len(photos)]] == ["photo"] * 8
    assert len(photos) == len(choice_questions)
    assert len({m.media_group_id for m in photos}) == 1 and photos[0].media_group_id
    assert "عدد الإجابات ٦٠" in plain(summary.content)
    for question in choice_questions:
        assert question.labels["ar"] in summary.content
    displaced, needs = photos[0], photos[2]
    assert "• نعم: ٤٠ (٦٧٪)" in plain(displaced.content)
    assert "• لا: ٢٠ (٣٣٪)" in plain(displaced.content)
    # A suppressed count has no percentage, and the words, not a sign that bidi can flip.
    jobs = next(line for line in plain(needs.content).splitlines() if "فرص العمل" in line)
    assert jobs.endswith(": أقل من ٥") and "٪" not in jobs and "<" not in jobs
    assert "• المياه النظيفة: ٦٠ (١٠٠٪)" in plain(needs.content)
    # One digit style: no Latin digit in the summary or any caption ("XLSX" has none).
    for message in (summary, *photos):
        assert not re.search(r"[0-9]", plain(message.content)), plain(message.content)
    for photo in photos:
        assert photo.parse_mode == "HTML"
        assert visible_length(photo.caption or "") <= CAPTION_LIMIT
        width, height = png_size(photo.document_bytes or b"")
        assert width == WIDTH_PX and height <= MAX_HEIGHT_PX

    # In English: Latin digits and "%", "<5" with no percentage.
    received = await results_messages(bot, ORGANISER_EN, "en", f"/results {survey_id}")
    summary, *rest = received
    photos = [m for m in rest if m.kind == "photo"]
    assert summary.kind == "text" and "60 responses" in summary.content
    assert len(photos) == len(choice_questions)
    assert "• Yes: 40 (67%)" in plain(photos[0].content)
    jobs = next(line for line in plain(photos[2].content).splitlines() if "Jobs" in line)
    assert jobs.endswith(": <5") and "%" not in jobs
    assert not re.search(r"[٠-٩]", " ".join(m.content for m in (summary, *photos)))
    # Then the spreadsheets, as before.
    names = [m.document_name or "" for m in rest if m.kind == "document"]
    assert names[0].endswith(".csv") and names[1].endswith(".xlsx")


def many_options_results(options: int, label: str) -> SurveyResults:
    """One select_multiple question with `options` long options, ten people per option."""
    form = needs_form()
    question = dataclasses.replace(
        form.question("priority_needs"),
        options=tuple(
            Option(f"o{index}", {"en": f"{label} {index}", "ar": f"خيار طويل جدًّا {index}"})
            for index in range(options)
        ),
    )
    when = datetime(2026, 1, 1, tzinfo=UTC)
    people = [
        Respondent(
            ResponseRow(
                f"{index:032x}",
                when,
                {question.key: f"o{index % options} o{(index + 1) % options}"},
            ),
            dict.fromkeys(("governorate", "gender", "age_group"), NOT_GIVEN),
        )
        for index in range(options * 10)
    ]
    summary = SurveySummary(
        1, "long", "Long", "طويل", SurveyStatus.OPEN, len(people), when, None, None
    )
    return compute_results(summary, dataclasses.replace(form, questions=(question,)), people)


@pytest.mark.parametrize("language", ["ar", "en"])
def test_many_long_options_split_into_charts_that_fit_and_captions_within_the_limit(
    language: str,
) -> None:
    results = many_options_results(30, "A rather long option label that needs wrapping " * 2)
    album = results_album(results, CATALOGUE, language, group_labels(CATALOGUE, language))
    assert len(album.photos) > 1
    for photo in album.photos:
        width, height = png_size(photo.png)
        assert width == WIDTH_PX and height <= MAX_HEIGHT_PX
        assert visible_length(photo.caption) <= CAPTION_LIMIT
    first = plain(album.photos[0].caption)
    assert "(1/" in first.translate(str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789"))
    more = "more options" if language == "en" else "من الخيارات الأخرى"
    assert more in first


def test_albums_hold_two_to_ten_photos() -> None:
    photos = [ChartPhoto(f"{index}.png", b"", "") for index in range(23)]
    assert [len(batch) for batch in album_batches(photos)] == [8, 8, 7]
    assert [len(batch) for batch in album_batches(photos[:11])] == [6, 5]
    assert [len(batch) for batch in album_batches(photos[:1])] == [1]
    assert album_batches([]) == []


def test_percentages_only_for_released_counts() -> None:
    assert percentage(Figure(40), Figure(60)) == 67
    assert str(percentage(Figure(5), Figure(1200))) == "0.4"
    assert percentage(Figure(None, Mark.SMALL), Figure(60)) is None
    assert percentage(Figure(None, Mark.HIDDEN), Figure(60)) is None
    assert percentage(Figure(0), Figure(None, Mark.SMALL)) is None


def test_arabic_chart_text_is_a_right_to_left_paragraph() -> None:
    """The first strong character of every Arabic chart line is right-to-left, so a line that
    starts with a number ("٨٣ (٦١٪)") is not laid out left to right; "<5" is words."""
    small = wording(CATALOGUE, "ar").of(Figure(None, Mark.SMALL))
    for line in ("٨٣ (٦١٪)", small, "Kobo ١٢"):
        drawn = for_display(line, True)
        first_strong = next(c for c in drawn if unicodedata.bidirectional(c) in ("L", "R", "AL"))
        assert unicodedata.bidirectional(first_strong) in ("R", "AL")
    assert "<" not in for_display(small, True) and ">" not in for_display(small, True)
    rows = [ChartRow("x", "<5", None)] * 40
    parts = split_rows(rows, ChartWords("t", "s", "f", False))
    assert len(parts) > 1 and sum(len(part) for part in parts) == 40


def test_the_stats_trend_chart_shares_the_phone_canvas() -> None:
    """/stats draws with the same engine: 1080 px square, Arabic mirrored."""
    weeks = tuple(date(2026, 9, 7) + timedelta(weeks=index) for index in range(12))
    trend = Trend("anbar", weeks, {"security": (None, 5, 6, 0, None, 9, 13, 8, 7, 5, None, 6)})
    for right_to_left in (True, False):
        png = trend_chart_png(
            trend,
            {"security": "الأمن"},
            title="عنوان",
            caption="ملاحظة",
            right_to_left=right_to_left,
        )
        assert png_size(png) == (WIDTH_PX, WIDTH_PX)
