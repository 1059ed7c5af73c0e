"""Survey results: counts per choice, disaggregated by governorate, gender and age group.

Small cells are suppressed here, in the service, so no caller can show them: each question's
overall counts and its three breakdowns go together through `bot.engines.disclosure`
(primary suppression of 1 to 4 people, zeros beside hidden cells, complementary cells), so a
hidden count cannot be worked out from totals or from another breakdown. Demographics come
from the members table at the time the results are built; a member who erased their data, or
never gave a profile, counts under "not given". Rows for the exports carry only the random
response id.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from bot.engines.disclosure import THRESHOLD, Figure, Mark, TableInput, protect_tables, shown
from bot.members.demographics import AGE_GROUPS, GENDERS, GOVERNORATES
from bot.surveys.lifecycle import SurveySummary, survey_with_form
from bot.surveys.xlsform.form import CHOICE_TYPES, Question, SurveyForm
from storage.database import UnitOfWork
from storage.models import Member, SurveyAnswer, SurveyResponse

NOT_GIVEN = "not_given"
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "governorate": GOVERNORATES,
    "gender": GENDERS,
    "age_group": AGE_GROUPS,
}


@dataclass(frozen=True)
class GroupCounts:
    group: str  # a governorate / gender / age-group code, or NOT_GIVEN
    respondents: Figure
    counts: tuple[Figure, ...]  # one per option of the question


@dataclass(frozen=True)
class Breakdown:
    dimension: str
    groups: tuple[GroupCounts, ...]


@dataclass(frozen=True)
class ChoiceResult:
    question: Question
    respondents: Figure  # the people who answered
    counts: tuple[Figure, ...]
    breakdowns: tuple[Breakdown, ...]
    # For a question inside a repeat, the repeat's labels: each respondent is counted once
    # per option chosen in any of their instances (people, not instances, so the same
    # small-count protection applies).
    repeat_labels: dict[str, str] | None = None


@dataclass(frozen=True)
class ResponseRow:
    response_uid: str
    submitted_at: datetime
    answers: dict[str, str]


@dataclass(frozen=True)
class Respondent:
    row: ResponseRow
    profile: dict[str, str]  # dimension → code


@dataclass(frozen=True)
class SurveyResults:
    summary: SurveySummary
    form: SurveyForm
    responses: int
    choices: tuple[ChoiceResult, ...]
    rows: tuple[ResponseRow, ...]


def _chosen(question: Question, answers: dict[str, str]) -> set[str]:
    """The options a respondent chose: in the answer, or in any repeat instance of it."""
    if not question.repeats:
        return set(answers.get(question.key, "").split())
    prefix = f"{question.key}["
    return {
        token
        for key, value in answers.items()
        if key.startswith(prefix) and key.endswith("]")
        for token in value.split()
    }


def _choice_result(
    question: Question, respondents: list[Respondent], form: SurveyForm | None = None
) -> ChoiceResult:
    names = [option.name for option in question.options]
    chosen = [(r, _chosen(question, r.row.answers)) for r in respondents]
    answered = [r for r, tokens in chosen if tokens]
    overall: Counter[str] = Counter()
    by_group: dict[str, dict[str, Counter[str]]] = {d: defaultdict(Counter) for d in DIMENSIONS}
    people: dict[str, Counter[str]] = {d: Counter() for d in DIMENSIONS}
    for respondent, tokens in chosen:
        if not tokens:
            continue
        overall.update(tokens)
        for dimension in DIMENSIONS:
            group = respondent.profile[dimension]
            by_group[dimension][group].update(tokens)
            people[dimension][group] += 1
    tables: list[TableInput] = []
    orders: list[list[str]] = []
    for dimension, codes in DIMENSIONS.items():
        order = [group for group in (*codes, NOT_GIVEN) if people[dimension][group]]
        cells = [[by_group[dimension][group][name] for name in names] for group in order]
        tables.append(TableInput(cells, [people[dimension][group] for group in order]))
        orders.append(order)
    protected = protect_tables(tables, [overall[name] for name in names], len(answered))
    breakdowns = tuple(
        Breakdown(
            dimension,
            tuple(
                GroupCounts(group, table.row_totals[index], table.cells[index])
                for index, group in enumerate(order)
            ),
        )
        for dimension, order, table in zip(DIMENSIONS, orders, protected.tables, strict=True)
    )
    # The protection assumes the number who answered is known; it is still shown as "<5"
    # when small, as before (a reader knowing less is only safer).
    answered_count = len(answered)
    answered_figure = (
        Figure(None, Mark.SMALL) if 0 < answered_count < THRESHOLD else shown(answered_count)
    )
    repeat_labels = None
    if question.repeats and form is not None:
        repeat = form.sections[question.repeats[-1]]
        repeat_labels = {k: v or repeat.name for k, v in repeat.labels.items()} or {
            "en": repeat.name,
            "ar": repeat.name,
        }
    return ChoiceResult(
        question, answered_figure, protected.column_totals, breakdowns, repeat_labels
    )


def compute_results(
    summary: SurveySummary, form: SurveyForm, respondents: Iterable[Respondent]
) -> SurveyResults:
    """The pure part of building results (the benchmark times this with the exports)."""
    everyone = list(respondents)
    choices = tuple(
        _choice_result(q, everyone, form) for q in form.questions if q.type in CHOICE_TYPES
    )
    return SurveyResults(summary, form, len(everyone), choices, tuple(r.row for r in everyone))


def _profile_code(value: str | None, allowed: tuple[str, ...]) -> str:
    return value if value in allowed else NOT_GIVEN


async def build_results(uow: UnitOfWork, survey_id: int) -> SurveyResults:
    """Every submitted response of the survey with its answers; raises SurveyNotFound."""
    summary, form = await survey_with_form(uow, survey_id)
    responses = await uow.session.execute(
        select(
            SurveyResponse.id,
            SurveyResponse.response_uid,
            SurveyResponse.submitted_at,
            Member.governorate,
            Member.gender,
            Member.age_group,
        )
        .outerjoin(Member, Member.user_id == SurveyResponse.user_id)
        .where(SurveyResponse.survey_id == survey_id, SurveyResponse.submitted_at.is_not(None))
        .order_by(SurveyResponse.submitted_at, SurveyResponse.id)
    )
    answers: dict[int, dict[str, str]] = defaultdict(dict)
    values = await uow.session.execute(
        select(SurveyAnswer.response_id, SurveyAnswer.name, SurveyAnswer.value)
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(SurveyResponse.survey_id == survey_id, SurveyResponse.submitted_at.is_not(None))
    )
    for response_id, name, value in values.tuples():
        answers[response_id][name] = value
    respondents = []
    for response_id, uid, submitted_at, governorate, gender, age_group in responses.tuples():
        assert submitted_at is not None
        profile = {
            "governorate": _profile_code(governorate, GOVERNORATES),
            "gender": _profile_code(gender, GENDERS),
            "age_group": _profile_code(age_group, AGE_GROUPS),
        }
        row = ResponseRow(uid, submitted_at, answers.get(response_id, {}))
        respondents.append(Respondent(row, profile))
    return compute_results(summary, form, respondents)
