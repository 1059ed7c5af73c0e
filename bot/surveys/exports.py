"""Survey responses as CSV and XLSX that join KoboToolbox exports.

Columns are the XLSForm question names (notes left out), then `_uuid` and `_submission_time`
as in Kobo; select_multiple answers are space-separated choice names, as Kobo writes them.
No member identity is exported: `_uuid` is the response's random id. The CSV is UTF-8 with a
byte-order mark so Excel opens Arabic correctly. The XLSX adds a `breakdown` sheet with the
disaggregated counts (small cells already suppressed) and a `questions` sheet with labels.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from datetime import UTC
from decimal import Decimal, InvalidOperation
from io import BytesIO, StringIO

from openpyxl import Workbook

from bot.surveys.results import ResponseRow, SurveyResults
from bot.surveys.xlsform.form import QuestionType, SurveyForm

META_COLUMNS = ("_uuid", "_submission_time")


def columns_of(form: SurveyForm) -> list[str]:
    return [q.name for q in form.answerable] + list(META_COLUMNS)


def _cells(form: SurveyForm, row: ResponseRow) -> list[str]:
    submitted = row.submitted_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:00Z")
    return [row.answers.get(q.name, "") for q in form.answerable] + [row.response_uid, submitted]


def _guard(value: str) -> str:
    """Keep a spreadsheet from reading a member's text as a formula (=, +, -, @)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") and not _is_number(value) else value


def _is_number(value: str) -> bool:
    try:
        Decimal(value)
    except InvalidOperation:
        return False
    return True


def responses_csv(results: SurveyResults) -> bytes:
    out = StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns_of(results.form))
    for row in results.rows:
        writer.writerow([_guard(value) for value in _cells(results.form, row)])
    return out.getvalue().encode("utf-8-sig")


def _typed(kind: QuestionType | None, value: str) -> str | int | float:
    if value and kind is QuestionType.INTEGER:
        return int(value)
    if value and kind is QuestionType.DECIMAL:
        return float(value)
    return _guard(value)


def responses_xlsx(
    results: SurveyResults, language: str, group_labels: Mapping[str, str]
) -> bytes:
    """The responses, a breakdown sheet and a questions sheet; `group_labels` names the
    governorate/gender/age-group codes (and `not_given`) in the organiser's language."""
    form = results.form
    workbook = Workbook(write_only=True)
    responses = workbook.create_sheet("responses")
    responses.append(columns_of(form))
    kinds: list[QuestionType | None] = [q.type for q in form.answerable]
    kinds += [None] * len(META_COLUMNS)
    for row in results.rows:
        responses.append(
            [_typed(kind, value) for kind, value in zip(kinds, _cells(form, row), strict=True)]
        )
    breakdown = workbook.create_sheet("breakdown")
    breakdown.append(["question", "dimension", "group", "choice", "label", "people"])
    for result in results.choices:
        question = result.question
        for option, count in zip(question.options, result.counts, strict=True):
            breakdown.append(
                [question.name, "all", "", option.name, option.labels[language], count.shown]
            )
        for part in result.breakdowns:
            for group in part.groups:
                label = group_labels.get(group.group, group.group)
                for option, count in zip(question.options, group.counts, strict=True):
                    breakdown.append(
                        [
                            question.name,
                            part.dimension,
                            label,
                            option.name,
                            option.labels[language],
                            count.shown,
                        ]
                    )
    questions = workbook.create_sheet("questions")
    questions.append(["name", "type", "label::English (en)", "label::Arabic (ar)"])
    for q in form.questions:
        questions.append([q.name, q.type.value, q.labels["en"], q.labels["ar"]])
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()
