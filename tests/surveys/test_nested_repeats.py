"""A repeat inside a repeat: asked per instance, indexed-repeat() at the second level, the
exports (one sheet / CSV per repeat, joined by _parent_index, names or labels as headers) and
results counting choice questions inside repeats once per respondent."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime

from bot.surveys.exports import responses_csv_export
from bot.surveys.flow import AGAIN, ENOUGH, SUBMIT_STEP
from bot.surveys.lifecycle import SurveyStatus, SurveySummary
from bot.surveys.results import NOT_GIVEN, Respondent, ResponseRow, compute_results
from tests.surveys.test_xlsform_features import Walker, book

NESTED = book(
    {
        "survey": [
            ["type", "name", "label::ar", "label::en", "repeat_count", "calculation"],
            ["begin repeat", "hh", "أسرة", "Household", "", ""],
            ["text", "hh_name", "اسم الأسرة", "Family name", "", ""],
            ["integer", "size", "كم فردًا؟", "How many?", "", ""],
            ["begin repeat", "member", "فرد", "Member", "${size}", ""],
            ["integer", "age", "عمر ${hh_name} ${pos}", "Age in ${hh_name} ${pos}", "", ""],
            ["calculate", "pos", "", "", "", "position(..)"],
            ["select_one yn", "sick", "مريض؟", "Sick?", "", ""],
            ["end repeat", "", "", "", "", ""],
            ["calculate", "oldest", "", "", "", "max(${age})"],
            ["end repeat", "", "", "", "", ""],
            [
                "calculate",
                "second_first",
                "",
                "",
                "",
                "indexed-repeat(${age}, ${hh}, 2, ${member}, 1)",
            ],
            [
                "calculate",
                "first_second",
                "",
                "",
                "",
                "indexed-repeat(${age}, ${hh}, 1, ${member}, 2)",
            ],
            ["calculate", "name2", "", "", "", "indexed-repeat(${hh_name}, ${hh}, 2)"],
            ["calculate", "total", "", "", "", "sum(${size})"],
        ],
        "choices": [
            ["list_name", "name", "label::ar", "label::en"],
            ["yn", "yes", "نعم", "Yes"],
            ["yn", "no", "لا", "No"],
        ],
    }
)


def answered() -> tuple[Walker, dict[str, str]]:
    walk = Walker(NESTED)
    walk.give(text="علي")
    walk.give(text="٢")
    assert walk.step == "age@1.1" and walk.text("en") == "Age in علي 1"
    walk.give(text="30")
    walk.give(choice="no")
    assert walk.step == "age@1.2" and walk.text("en") == "Age in علي 2"
    walk.give(text="5")
    walk.give(choice="yes")
    assert walk.step.startswith("~more:")
    walk.give(choice=AGAIN)
    walk.give(text="حسن")
    walk.give(text="1")
    walk.give(text="70")
    walk.give(choice="no")
    walk.give(choice=ENOUGH)
    assert walk.step == SUBMIT_STEP
    return walk, walk.flow.submission(walk.form, walk.data)


def test_a_repeat_inside_a_repeat_and_indexed_repeat_at_the_second_level() -> None:
    _, answers = answered()
    assert answers["age[1.1]"] == "30" and answers["age[1.2]"] == "5"
    assert answers["age[2.1]"] == "70" and answers["pos[1.2]"] == "2"
    assert answers["oldest[1]"] == "30" and answers["oldest[2]"] == "70"
    assert answers["second_first"] == "70" and answers["first_second"] == "5"
    assert answers["name2"] == "حسن" and answers["total"] == "3"


def test_exports_and_results_of_nested_repeats() -> None:
    walk, answers = answered()
    now = datetime(2025, 3, 1, tzinfo=UTC)
    summary = SurveySummary(3, "nested", "N", "N", SurveyStatus.OPEN, 1, now, now, None)
    profile = {"governorate": NOT_GIVEN, "gender": NOT_GIVEN, "age_group": NOT_GIVEN}
    people = [Respondent(ResponseRow(f"u{i}", now, answers), profile) for i in range(6)]
    results = compute_results(summary, walk.form, people)
    sick = next(r for r in results.choices if r.question.name == "sick")
    assert sick.repeat_labels is not None and sick.repeat_labels["en"] == "Member"
    # each respondent once per option chosen in any instance: 6 people chose yes and no
    assert [c.value for c in sick.counts] == [6, 6]
    name, content = responses_csv_export(results, "s", "names")
    assert name == "s-csv.zip"
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert sorted(archive.namelist()) == ["s-hh.csv", "s-member.csv", "s.csv"]
    members = list(csv.reader(io.StringIO(archive.read("s-member.csv").decode("utf-8-sig"))))
    header = members[0]
    assert header[:3] == ["hh/member/age", "hh/member/pos", "hh/member/sick"]
    parent = header.index("_parent_index")
    # rows of the first respondent: two members of household row 1, one of household row 2
    assert [row[parent] for row in members[1:4]] == ["1", "1", "2"]
    assert members[1][header.index("_parent_table_name")] == "hh"
    _, labelled = responses_csv_export(results, "s", "labels", "ar")
    main = zipfile.ZipFile(io.BytesIO(labelled)).read("s-member.csv").decode("utf-8-sig")
    assert main.splitlines()[0].startswith("عمر ${hh_name} ${pos},")
