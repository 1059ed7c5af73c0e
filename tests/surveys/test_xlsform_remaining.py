"""The XLSForm features of issue 17 not covered elsewhere: `or_other`, choices from the
workbook's `external_choices` sheet (select_one_from_file) and a missing file's warning, and a
long form's warning at import and progress ("section 3 of 8 · question 12 of about 60")."""

from __future__ import annotations

from typing import Any

from bot.surveys.xlsform.form import QuestionType
from bot.surveys.xlsform.reading import read_xlsform
from tests.surveys.test_survey_steps import CATALOGUE
from tests.surveys.test_xlsform_features import Walker, book


def test_or_other_adds_the_choice_and_a_typed_question() -> None:
    content = book(
        {
            "survey": [
                ["type", "name", "label::Arabic (ar)", "label::English (en)"],
                ["select_one need or_other", "need", "ما أهم حاجة؟", "Main need?"],
            ],
            "choices": [
                ["list_name", "name", "label::Arabic (ar)", "label::English (en)"],
                ["need", "water", "ماء", "Water"],
            ],
        }
    )
    walk = Walker(content)
    assert [o.name for o in walk.form.question("need").options] == ["water", "other"]
    walk.give(choice="other")
    other = walk.form.questions[walk.form.index_of(walk.step.partition("@")[0])]
    assert other.name == "need_other" and other.type is QuestionType.TEXT
    walk.give(text="مدارس")
    answers = walk.flow.submission(walk.form, walk.data)
    assert answers == {"need": "other", "need_other": "مدارس"}


def test_select_from_file_reads_the_external_choices_sheet_or_warns() -> None:
    sheets: dict[str, list[list[Any]]] = {
        "survey": [
            ["type", "name", "label::ar"],
            ["select_one_from_file towns.csv", "town", "بلدتك؟"],
            ["select_one_from_file missing.csv", "street", "شارعك؟"],
        ],
        "external_choices": [
            ["list_name", "name", "label::ar"],
            ["towns", "mosul", "الموصل"],
            ["towns", "erbil", "أربيل"],
        ],
    }
    read = read_xlsform(book(sheets))
    town = read.form.question("town")
    assert [(o.name, o.labels["ar"]) for o in town.options] == [
        ("mosul", "الموصل"),
        ("erbil", "أربيل"),
    ]
    warned = [w for w in read.warnings if w.code == "external_choices"]
    assert [w.details["list"] for w in warned] == ["missing.csv"]
    walk = Walker(book(sheets))
    assert {c.value for c in walk.prompt().choices} >= {"mosul", "erbil"}
    walk.give(choice="erbil")
    walk.give(text="شارع ٦٠")  # asked as typed text, as the warning says
    answers = walk.flow.submission(walk.form, walk.data)
    assert answers["town"] == "erbil" and answers["street"] == "شارع ٦٠"


def test_a_long_form_warns_at_import_and_shows_progress() -> None:
    rows: list[list[Any]] = [["type", "name", "label::ar", "label::en"]]
    for section in range(1, 9):
        rows.append(["begin group", f"s{section}", f"القسم {section}", f"Part {section}"])
        rows += [["integer", f"q{section}_{n}", f"سؤال {n}", f"Question {n}"] for n in range(1, 9)]
        rows.append(["end group", "", "", ""])
    read = read_xlsform(book({"survey": rows}))
    assert [w.details.get("count") for w in read.warnings if w.code == "long_form"] == ["64"]
    walk = Walker(book({"survey": rows}))
    for _ in range(19):
        assert walk.give(text="٣") is None
    variables = walk.prompt().text.variables
    assert (variables["section"], variables["sections"]) == (3, 8)
    assert (variables["number"], variables["total"]) == (20, 64)
    assert variables["group_ar"] == "القسم 3"
    for language in ("en", "ar"):
        shown = CATALOGUE.render(language, "surveys.flow.question", **variables)
        assert ("64" if language == "en" else "٦٤") in shown
        assert ("8" if language == "en" else "٨") in shown
