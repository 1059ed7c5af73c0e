"""Reading XLSForms: the example forms pass; forms outside the subset are refused with the
sheet, the row and the reason; a label missing in one language is a warning with a fallback."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import Workbook

from bot.surveys.xlsform.form import QuestionType, SurveyForm
from bot.surveys.xlsform.reading import FormProblem, FormRefused, read_xlsform
from tests.surveys.test_survey_steps import CATALOGUE, FEEDBACK, NEEDS

HEADER = [
    "type",
    "name",
    "label::English (en)",
    "label::Arabic (ar)",
    "required",
    "relevant",
    "constraint",
]
YES_NO = [
    ["list_name", "name", "label::English (en)", "label::Arabic (ar)"],
    ["yn", "yes", "Yes", "نعم"],
    ["yn", "no", "No", "لا"],
]


def workbook(
    survey: list[list[Any]] | None,
    choices: list[list[Any]] | None = YES_NO,
    extra_sheets: tuple[str, ...] = (),
) -> bytes:
    book = Workbook()
    first = book.active
    assert first is not None
    if survey is not None:
        first.title = "survey"
        for row in [HEADER, *survey]:
            first.append(row)
    else:
        first.title = "questions"
        first.append(["type", "name"])
    if choices is not None:
        sheet = book.create_sheet("choices")
        for row in choices:
            sheet.append(row)
    for name in extra_sheets:
        book.create_sheet(name)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def refusal(content: bytes) -> list[FormProblem]:
    with pytest.raises(FormRefused) as raised:
        read_xlsform(content)
    return list(raised.value.problems)


def test_the_example_forms_are_in_the_subset() -> None:
    needs = read_xlsform(NEEDS.read_bytes()).form
    assert needs.titles == {"en": "Community needs assessment", "ar": "تقييم احتياجات المجتمع"}
    assert len(needs.answerable) == 14
    assert {q.type for q in needs.questions} == set(QuestionType)
    assert needs.question("returned").relevant == "${displaced} = 'yes'"
    assert needs.question("household_size").constraint_messages["ar"].startswith("يرجى")
    assert SurveyForm.from_json(needs.to_json()) == needs
    feedback = read_xlsform(FEEDBACK.read_bytes())
    assert feedback.warnings == ()
    assert [o.name for o in feedback.form.question("rating").options] == ["1", "2", "3", "4", "5"]


def test_not_a_workbook() -> None:
    assert refusal(b"this is a PDF, honestly") == [FormProblem(None, None, "unreadable")]


def test_missing_survey_sheet() -> None:
    problems = refusal(workbook(None, extra_sheets=("notes",)))
    assert problems == [FormProblem("survey", None, "missing_sheet")]


def test_missing_choices_sheet() -> None:
    problems = refusal(workbook([["select_one yn", "q1", "Q", "س"]], choices=None))
    assert problems == [FormProblem("choices", None, "missing_sheet")]


def test_select_one_without_its_list() -> None:
    problems = refusal(workbook([["text", "q0", "Q", "س"], ["select_one", "q1", "Q", "س"]]))
    assert problems == [FormProblem("survey", 3, "missing_list", {"type": "select_one"})]
    problems = refusal(workbook([["select_one colours", "q1", "Q", "س"]]))
    assert problems == [FormProblem("survey", 2, "unknown_list", {"list": "colours"})]


def test_duplicate_names() -> None:
    problems = refusal(workbook([["text", "age", "A", "ع"], ["integer", "age", "B", "ب"]]))
    assert problems == [
        FormProblem("survey", 3, "duplicate_name", {"name": "age", "first_row": "2"})
    ]


def test_expression_that_does_not_parse() -> None:
    problems = refusal(
        workbook(
            [["integer", "age", "Age", "العمر"], ["text", "q", "Q", "س", "", "${age} > > 18"]]
        )
    )
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.sheet, problem.row, problem.code) == ("survey", 3, "expression")
    assert problem.details["column"] == "relevant"
    assert problem.details["error"] == "unexpected_token"
    assert problem.details["position"] == "10"


def test_reference_to_an_unknown_question() -> None:
    problems = refusal(workbook([["integer", "age", "A", "ع", "", "", ". < ${agee}"]]))
    assert problems == [
        FormProblem("survey", 2, "unknown_reference", {"column": "constraint", "name": "agee"})
    ]


@pytest.mark.parametrize(
    "row",
    [
        ["begin group", "g", "G", "م"],
        ["begin repeat", "r", "R", "ت"],
        ["calculate", "c", "", ""],
        ["geopoint", "where", "Where", "أين"],
        ["image", "photo", "Photo", "صورة"],
        ["select_one_from_file places.csv", "p", "P", "م"],
    ],
)
def test_types_outside_the_subset(row: list[str]) -> None:
    problems = refusal(workbook([["text", "ok", "OK", "حسنًا"], row]))
    assert problems[0].sheet == "survey" and problems[0].row == 3
    assert problems[0].code == "unsupported_type"


def test_every_problem_is_reported_at_once() -> None:
    problems = refusal(
        workbook(
            [
                ["begin group", "g", "G", "م"],
                ["select_one", "q1", "Q", "س"],
                ["text", "q1", "Q", "س", "maybe"],
            ]
        )
    )
    assert [(p.row, p.code) for p in problems] == [
        (2, "unsupported_type"),
        (3, "missing_list"),
        (4, "duplicate_name"),
        (4, "required_not_yes_no"),
    ]


def test_metadata_rows_of_kobo_forms_are_skipped() -> None:
    form = read_xlsform(
        workbook([["start", "start"], ["end", "end"], ["text", "q", "Q", "س"]])
    ).form
    assert [q.name for q in form.questions] == ["q"]


def test_a_label_missing_in_one_language_warns_and_falls_back() -> None:
    read = read_xlsform(
        workbook(
            [["text", "a", "Only English", ""], ["select_one yn", "b", "", "بالعربية فقط"]],
            choices=[["list_name", "name", "label::English (en)"], ["yn", "yes", "Yes"]],
        )
    )
    assert read.form.question("a").labels == {"en": "Only English", "ar": "Only English"}
    assert read.form.question("b").labels == {"en": "بالعربية فقط", "ar": "بالعربية فقط"}
    assert read.form.question("b").options[0].labels == {"en": "Yes", "ar": "Yes"}
    assert FormProblem("survey", 2, "label_fallback", {"column": "label", "language": "ar"}) in (
        read.warnings
    )
    assert FormProblem("choices", 2, "label_fallback", {"column": "label", "language": "ar"}) in (
        read.warnings
    )


def test_pyxform_catches_what_xlsform_itself_forbids() -> None:
    problems = refusal(workbook([["text", "two words", "Q", "س"]]))
    assert problems[0].code == "pyxform" and problems[0].row == 2
    assert "name" in problems[0].details["message"]


def test_every_problem_renders_in_both_languages() -> None:
    from bot.surveys.presentation import problem_lines

    problems = refusal(
        workbook(
            [
                ["begin group", "g", "G", "م"],
                ["select_one", "q1", "Q", "س"],
                ["text", "q2", "Q", "س", "", "${q1} = = 1"],
            ]
        )
    )
    for language in ("en", "ar"):
        lines = problem_lines(CATALOGUE, language, problems)
        assert len(lines) == 3
        assert all(line["where"] and line["reason"] for line in lines)
    english = problem_lines(CATALOGUE, "en", problems)
    assert english[0]["where"] == "sheet “survey”, row 2"
    assert "“=” is not expected here" in english[2]["reason"]
