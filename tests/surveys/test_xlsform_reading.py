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


def test_the_example_forms_read() -> None:
    needs = read_xlsform(NEEDS.read_bytes()).form
    assert needs.titles == {"en": "Community needs assessment", "ar": "تقييم احتياجات المجتمع"}
    assert len(needs.answerable) == 14
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


def test_what_pyxform_refuses_is_refused_with_its_reason_sheet_and_row() -> None:
    problems = refusal(workbook([["select_one yn", "q1", "Q", "س"]], choices=None))
    assert (problems[0].sheet, problems[0].code) == ("choices", "pyxform")
    assert "choices sheet" in problems[0].details["message"]
    problems = refusal(
        workbook([["text", "q0", "Q", "س"], ["select_one colours", "q1", "Q", "س"]])
    )
    assert (problems[0].sheet, problems[0].row) == ("survey", 3)
    assert "colours" in problems[0].details["message"]
    problems = refusal(workbook([["text", "age", "A", "ع"], ["integer", "age", "B", "ب"]]))
    assert (problems[0].sheet, problems[0].row, problems[0].code) == ("survey", 3, "pyxform")
    assert "age" in problems[0].details["message"]


def test_the_same_name_in_two_groups_is_allowed_and_keyed_by_path() -> None:
    form = read_xlsform(
        workbook(
            [
                ["begin group", "mother", "Mother", "الأم"],
                ["integer", "age", "Age", "العمر"],
                ["end group", "", "", ""],
                ["begin group", "father", "Father", "الأب"],
                ["integer", "age", "Age", "العمر"],
                ["end group", "", "", ""],
            ]
        )
    ).form
    assert [q.key for q in form.questions] == ["mother/age", "father/age"]
    assert [q.path for q in form.questions] == ["mother/age", "father/age"]
    assert [s.labels["ar"] for s in form.sections] == ["الأم", "الأب"]
    assert SurveyForm.from_json(form.to_json()) == form


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


@pytest.mark.parametrize(
    ("row", "kind"),
    [
        (["calculate", "c", "", ""], QuestionType.CALCULATE),
        (["geopoint", "where", "Where", "أين"], QuestionType.GEOPOINT),
        (["image", "photo", "Photo", "صورة"], QuestionType.IMAGE),
        (["audio", "voice", "Voice", "صوت"], QuestionType.AUDIO),
        (["barcode", "code", "Code", "رمز"], QuestionType.BARCODE),
        (["acknowledge", "ok", "OK", "موافق"], QuestionType.ACKNOWLEDGE),
        (["time", "at", "At", "متى"], QuestionType.TIME),
        (["start", "start", "", ""], QuestionType.START),
    ],
)
def test_odk_types_are_read(row: list[str], kind: QuestionType) -> None:
    survey = [["text", "ok_", "OK", "حسنًا"], row]
    if row[0] == "calculate":
        survey = [[*r, "", "", "", "calculation"] for r in [HEADER[:4]]] + [
            ["text", "ok_", "OK", "حسنًا", "", "", "", ""],
            [*row, "", "", "", "1 + 1"],
        ]
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "survey"
        for line in [[*HEADER, "calculation"], *survey[1:]]:
            sheet.append(line)
        out = io.BytesIO()
        book.save(out)
        form = read_xlsform(out.getvalue()).form
    else:
        form = read_xlsform(workbook(survey)).form
    assert form.questions[1].type is kind


def test_username_and_phone_metadata_are_never_kept() -> None:
    form = read_xlsform(
        workbook([["username", "username"], ["phonenumber", "phone"], ["text", "q", "Q", "س"]])
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
                ["integer", "q1", "Q", "س"],
                ["text", "q2", "Q", "س", "", "${q1} = = 1"],
                ["text", "q3", "Q", "س", "", "pulldata('x', 'y', 'z', 'w') = 1"],
            ]
        )
    )
    pyxform_problem = refusal(workbook([["text", "two words", "Q", "س"]]))
    for language in ("en", "ar"):
        lines = problem_lines(CATALOGUE, language, [*problems, *pyxform_problem])
        assert len(lines) == 3
        assert all(line["where"] and line["reason"] for line in lines)
    english = problem_lines(CATALOGUE, "en", problems)
    assert english[0]["where"] == "sheet “survey”, row 3"
    assert "“=” is not expected here" in english[0]["reason"]
    arabic = problem_lines(CATALOGUE, "ar", pyxform_problem)
    assert "pyxform" in arabic[0]["reason"] and "\u2068٢\u2069" in arabic[0]["where"]
