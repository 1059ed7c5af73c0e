"""Results and exports as data: suppression of small cells, disaggregation, Kobo-style files,
and reading typed answers (numbers and dates in Arabic-Indic digits)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest

from bot.engines.disclosure import Figure, Mark, Wording
from bot.surveys.answer_values import (
    MAX_TEXT_ANSWER,
    AnswerRejected,
    parse_date,
    parse_typed_answer,
)
from bot.surveys.exports import _REPEAT_META, responses_csv, responses_xlsx
from bot.surveys.lifecycle import SurveyStatus, SurveySummary
from bot.surveys.results import (
    NOT_GIVEN,
    Respondent,
    ResponseRow,
    SurveyResults,
    compute_results,
)
from tests.surveys.test_survey_steps import needs_form, xlsx_rows

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def respondent(uid: str, answers: dict[str, str], **profile: str) -> Respondent:
    full = {"governorate": NOT_GIVEN, "gender": NOT_GIVEN, "age_group": NOT_GIVEN, **profile}
    return Respondent(ResponseRow(uid, NOW, answers), full)


def results_of(respondents: list[Respondent]) -> SurveyResults:
    summary = SurveySummary(
        7,
        "community_needs",
        "Needs",
        "احتياجات",
        SurveyStatus.OPEN,
        len(respondents),
        NOW,
        NOW,
        None,
    )
    return compute_results(summary, needs_form(), respondents)


@pytest.fixture
def results() -> SurveyResults:
    people = [
        respondent(
            f"a{i}",
            {"displaced": "yes", "priority_needs": "water health"},
            governorate="baghdad",
            gender="female",
        )
        for i in range(12)
    ]
    people += [
        respondent(
            f"b{i}",
            {"displaced": "no", "priority_needs": "water jobs"},
            governorate="basra",
            gender="male",
        )
        for i in range(3)
    ]
    people.append(respondent("c0", {"displaced": "no", "comments": '=HYPERLINK("x")'}))
    return results_of(people)


SMALL, HIDDEN = Figure(None, Mark.SMALL), Figure(None, Mark.HIDDEN)
WORDS = Wording("<5", "hidden")


def test_small_counts_and_what_would_reveal_them_are_hidden_everywhere(
    results: SurveyResults,
) -> None:
    displaced = results.choices[0]
    assert displaced.question.name == "displaced"
    assert displaced.respondents == Figure(16)
    # yes 12, no 4 of 16: "12" beside "<5" would give the 4 away, so 12 is hidden too.
    assert displaced.counts == (HIDDEN, SMALL)
    by_governorate = {g.group: g for g in displaced.breakdowns[0].groups}
    assert list(by_governorate) == ["baghdad", "basra", NOT_GIVEN]  # fixed order, no empties
    assert by_governorate["baghdad"].respondents == Figure(12)
    assert by_governorate["baghdad"].counts == (HIDDEN, SMALL)  # the 0 beside a hidden cell
    assert by_governorate["basra"].respondents == SMALL
    assert by_governorate["basra"].counts == (SMALL, SMALL)  # "0 · <5" told basra's answer
    needs = next(r for r in results.choices if r.question.name == "priority_needs")
    options = [o.name for o in needs.question.options]
    assert needs.respondents == Figure(15)
    assert needs.counts[options.index("water")] == Figure(15)
    assert needs.counts[options.index("jobs")] == SMALL
    shown = {
        WORDS.of(c)
        for r in results.choices
        for b in r.breakdowns
        for g in b.groups
        for c in (g.respondents, *g.counts)
    }
    assert not shown & {"1", "2", "3", "4"}


def test_csv_and_xlsx_use_xlsform_names_and_no_identity(results: SurveyResults) -> None:
    content = responses_csv(results)
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    form = results.form
    expected: list[str] = []
    for q in form.answerable:
        expected.append(q.name)
        if q.type.value == "select_multiple":
            expected += [f"{q.name}/{o.name}" for o in q.options]
    assert rows[0] == [*expected, "_index", "_uuid", "_submission_time"]
    assert len(rows) == 1 + 16
    assert rows[1][rows[0].index("priority_needs")] == "water health"
    assert rows[1][rows[0].index("priority_needs/water")] == "1"
    assert rows[1][rows[0].index("priority_needs/jobs")] == "0"
    assert rows[1][-1] == "2025-03-01 09:30"  # in TIMEZONE (UTC unless given)
    assert rows[-1][rows[0].index("comments")].startswith("'=")  # never a live formula
    sheet = xlsx_rows(
        responses_xlsx(results, "ar", {"baghdad": "بغداد"}, Wording("أقل من ٥", "محجوب"))
    )
    assert sheet[0] == rows[0]
    breakdown = xlsx_rows(
        responses_xlsx(results, "ar", {"baghdad": "بغداد"}, Wording("أقل من ٥", "محجوب")),
        "breakdown",
    )
    assert ["displaced", "governorate", "بغداد", "yes", "نعم", "محجوب"] in breakdown
    assert ["displaced", "all", None, "no", "لا", "أقل من ٥"] in breakdown


def test_repeats_export_as_kobo_sheets_with_parent_index() -> None:
    from tests.surveys.test_xlsform_features import HOUSEHOLD, Walker

    walk = Walker(HOUSEHOLD)
    for given in ("سلمى", "2", "40", "9"):
        walk.give(text=given)
    walk.give(choice="~next")
    walk.give(choice="bgd")
    walk.give(choice="karkh")
    answers = walk.flow.submission(walk.form, walk.data)
    row = ResponseRow("f" * 32, datetime(2025, 3, 1, 9, 30, tzinfo=UTC), answers)
    summary = SurveySummary(
        1, "h", "H", "ح", SurveyStatus.OPEN, 1, datetime(2025, 3, 1, tzinfo=UTC), None, None
    )
    results = compute_results(
        summary,
        walk.form,
        [Respondent(row, dict.fromkeys(("governorate", "gender", "age_group"), NOT_GIVEN))],
    )
    book = responses_xlsx(results, "en", {}, WORDS)
    main = xlsx_rows(book)
    assert "school/gov" in main[0] and "children" in main[0] and "age" not in main[0]
    assert main[1][main[0].index("children")] == "1"
    members = xlsx_rows(book, "member")
    assert members[0] == ["member/age", "member/pos", "member/child", *_REPEAT_META]
    assert members[1:] == [
        [40, "1", "0", 1, "main", 1, "f" * 32],
        [9, "2", "1", 2, "main", 1, "f" * 32],
    ]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2025-03-21", date(2025, 3, 21)),
        ("21/3/2025", date(2025, 3, 21)),
        ("٢١/٣/٢٠٢٥", date(2025, 3, 21)),
        ("٢٠٢٥-٠٣-٢١", date(2025, 3, 21)),
        ("21.03.2025", date(2025, 3, 21)),
        ("31/2/2025", None),
        ("yesterday", None),
        ("2025/03/21", None),
    ],
)
def test_dates_as_members_type_them(typed: str, expected: date | None) -> None:
    assert parse_date(typed) == expected


def test_typed_answers() -> None:
    form = needs_form()
    household, income = form.question("household_size"), form.question("income")
    comments = form.question("comments")
    assert parse_typed_answer(household, " ١٢ ") == "12"
    assert parse_typed_answer(income, "٣٥٠٫٥٠") == "350.5"
    assert parse_typed_answer(income, "2.50") == "2.5"
    assert parse_typed_answer(income, "100") == "100"
    assert parse_typed_answer(comments, "  ") == ""
    with pytest.raises(AnswerRejected) as not_number:
        parse_typed_answer(household, "five")
    assert not_number.value.key == "surveys.flow.not_integer"
    with pytest.raises(AnswerRejected) as too_long:
        parse_typed_answer(comments, "x" * (MAX_TEXT_ANSWER + 1))
    assert too_long.value.key == "surveys.flow.too_long"
    assert parse_typed_answer(comments, "x" * MAX_TEXT_ANSWER) == "x" * MAX_TEXT_ANSWER
