"""Catalogue variables for the organiser's survey messages: previews, problems, breakdowns.

Plain functions of a form or results and the catalogue, so the admin handlers stay thin and
the wording stays in `messages/`.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bot.engines.disclosure import Figure, Wording, wording
from bot.members.demographics import AGE_GROUPS, GENDERS, GOVERNORATES
from bot.surveys.results import NOT_GIVEN, ChoiceResult
from bot.surveys.xlsform.form import SurveyForm
from bot.surveys.xlsform.reading import FormProblem
from messages import Catalogue, format_number

PREVIEW_LIMIT = 60


def figure_text(language: str, words: Wording, figure: Figure) -> str:
    """A released count as the reader sees it: in the language's digits, or "<5"/"hidden"."""
    if figure.value is None or figure.hidden:
        return words.of(figure)
    return format_number(language, figure.value)


def percentage(count: Figure, of: Figure) -> Decimal | None:
    """`count` as a percentage of `of` (whole, or to one decimal under 1%); None when
    either is suppressed, so a hidden count never gets one."""
    if count.hidden or of.hidden or count.value is None or not of.value:
        return None
    exact = Decimal(100 * count.value) / Decimal(of.value)
    places = Decimal("1") if exact >= 1 or exact == 0 else Decimal("0.1")
    return exact.quantize(places, rounding=ROUND_HALF_UP)


def preview_variables(
    catalogue: Catalogue, ui_language: str, form: SurveyForm, language: str
) -> dict[str, Any]:
    questions = [
        {
            "number": index + 1,
            "name": q.name,
            "type": q.type.value,
            "label": q.labels.get(language, q.name),
            "required": q.required,
            "condition": q.relevant or "",
            "options": " · ".join(o.labels.get(language, o.name) for o in q.options[:30])
            + (" …" if len(q.options) > 30 else ""),
        }
        for index, q in enumerate([q for q in form.questions if q.asked][:PREVIEW_LIMIT])
    ]
    return {
        "language_name": catalogue.plain(ui_language, f"surveys.language.{language}"),
        "title": form.titles[language],
        "questions": questions,
        "more": max(sum(1 for q in form.questions if q.asked) - PREVIEW_LIMIT, 0),
    }


def _where(catalogue: Catalogue, language: str, problem: FormProblem) -> str:
    sheet = problem.sheet or ""
    if problem.sheet and problem.row:
        return catalogue.plain(language, "surveys.problem.at_row", sheet=sheet, row=problem.row)
    if problem.sheet:
        return catalogue.plain(language, "surveys.problem.at_sheet", sheet=sheet)
    return catalogue.plain(language, "surveys.problem.at_workbook")


def problem_lines(
    catalogue: Catalogue, language: str, problems: Iterable[FormProblem]
) -> list[dict[str, str]]:
    """One {where, reason} per problem, in the organiser's language."""
    lines = []
    for problem in problems:
        details: dict[str, Any] = dict(problem.details)
        if problem.code in ("expression", "required_unreadable"):
            error_key = f"surveys.expression_error.{details.get('error', 'other')}"
            detail = details.get("detail", "")
            details["error"] = catalogue.plain(language, error_key, detail=detail)
        key = f"surveys.problem.{problem.code}"
        if not catalogue.has(key):
            key, details = "surveys.problem.other", {"code": problem.code}
        try:
            reason = catalogue.plain(language, key, **details)
        except Exception:  # a detail missing from an odd pyxform message: say what we can
            reason = catalogue.plain(language, "surveys.problem.other", code=problem.code)
        lines.append({"where": _where(catalogue, language, problem), "reason": reason})
    return lines


def group_labels(catalogue: Catalogue, language: str) -> dict[str, str]:
    labels = {NOT_GIVEN: catalogue.plain(language, "surveys.results.not_given")}
    for prefix, codes in (
        ("governorate", GOVERNORATES),
        ("gender", GENDERS),
        ("age_group", AGE_GROUPS),
    ):
        labels.update({code: catalogue.plain(language, f"{prefix}.{code}") for code in codes})
    return labels


def breakdown_variables(
    catalogue: Catalogue, language: str, result: ChoiceResult, labels: dict[str, str]
) -> dict[str, Any]:
    options = result.question.options
    words = wording(catalogue, language)
    dimensions = []
    for part in result.breakdowns:
        groups = [
            {
                "label": labels.get(group.group, group.group),
                "respondents": figure_text(language, words, group.respondents),
                "counts": " · ".join(
                    f"{option.labels[language]} {figure_text(language, words, count)}"
                    for option, count in zip(options, group.counts, strict=True)
                ),
            }
            for group in part.groups
        ]
        name = catalogue.plain(language, f"surveys.results.dimension.{part.dimension}")
        dimensions.append({"name": name, "groups": groups})
    label = result.question.labels[language]
    if result.repeat_labels is not None:  # a question inside a repeat: say how it is counted
        group = result.repeat_labels.get(language) or next(iter(result.repeat_labels.values()))
        label = catalogue.plain(language, "surveys.repeat_results.label", label=label, group=group)
    return {
        "label": label,
        "respondents": figure_text(language, words, result.respondents),
        "counts": [
            {
                "label": option.labels[language],
                "count": figure_text(language, words, count),
                "percent": percentage(count, result.respondents),
            }
            for option, count in zip(options, result.counts, strict=True)
        ],
        "dimensions": dimensions,
    }
