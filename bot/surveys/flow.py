"""The one flow that runs any survey form on the flow engine, one question at a time.

Steps are question names, in form order, then a last `~submit` step to review and send.
`relevant` decides which questions are asked (evaluated against the answers so far, as ODK
does); `required`, typed-value checks and `constraint` (with the form's `constraint_message`
in the member's language) decide whether an answer is accepted. Notes are shown with a
"Next" button. The engine stores the step and the answers after every input, so a member can
stop and continue later, even after a restart.

Flow data: `_survey` (id), `_form` (the form definition, so any instance can run it),
`answers` (name → XLSForm value) and `_resume` (where to continue a saved draft).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from bot.engines.flows import (
    HISTORY,
    SELECTED,
    SKIP,
    Choice,
    Completion,
    Finished,
    FlowInput,
    Invalid,
    Next,
    Prompt,
    StepResult,
    Text,
)
from bot.surveys.answer_values import AnswerRejected, display_answer, parse_typed_answer
from bot.surveys.responses import submit_response
from bot.surveys.xlsform.expressions import Environment, holds
from bot.surveys.xlsform.form import Question, QuestionType, SurveyForm
from storage.database import UnitOfWork

FLOW_NAME = "survey"
SUBMIT_STEP = "~submit"
SUBMIT = "~submit"
KEEP = "~keep"
NEXT = "~next"
SURVEY_ID = "_survey"
FORM = "_form"
ANSWERS = "answers"
RESUME = "_resume"
SHORT_LABEL = 18


def relevant_answers(form: SurveyForm, answers: Mapping[str, str], today: date) -> dict[str, str]:
    """The answers ODK would submit: those of questions still relevant, in form order."""
    kept: dict[str, str] = {}
    for question in form.questions:
        if question.name not in answers:
            continue
        if question.relevant and not holds(question.relevant, Environment(kept, today=today)):
            continue
        kept[question.name] = answers[question.name]
    return kept


class SurveyFlow:
    """Walks any parsed form; registered once under the name `survey`."""

    name = FLOW_NAME

    def __init__(self, today: Callable[[], date]) -> None:
        self._today = today
        self._forms: dict[int, SurveyForm] = {}

    def form_of(self, data: Mapping[str, Any]) -> SurveyForm:
        survey_id = int(data[SURVEY_ID])
        form = self._forms.get(survey_id)
        if form is None:  # survey definitions never change once imported
            form = SurveyForm.from_json(data[FORM])
            self._forms[survey_id] = form
        return form

    def _env(self, answers: Mapping[str, str], current: str = "") -> Environment:
        return Environment(answers, current=current, today=self._today())

    def next_step(self, form: SurveyForm, after: int, answers: Mapping[str, str]) -> str:
        for question in form.questions[after + 1 :]:
            if not question.relevant or holds(question.relevant, self._env(answers)):
                return question.name
        return SUBMIT_STEP

    # ------------------------------------------------------------------ the Flow protocol

    def first_step(self, data: dict[str, Any]) -> str:
        form = self.form_of(data)
        resume = data.pop(RESUME, None)
        names = {question.name for question in form.questions}
        if resume in names or resume == SUBMIT_STEP:
            return str(resume)
        return self.next_step(form, -1, data.get(ANSWERS, {}))

    def prompt(self, step: str, data: dict[str, Any]) -> Prompt:
        form = self.form_of(data)
        answers: dict[str, str] = data.get(ANSWERS, {})
        can_go_back = bool(data.get(HISTORY))
        if step == SUBMIT_STEP:
            count = len(relevant_answers(form, answers, self._today()))
            return Prompt(
                Text("surveys.flow.review", {"answered": count}),
                choices=(Choice(SUBMIT, label_key="surveys.flow.submit"),),
                can_go_back=can_go_back,
            )
        question = form.question(step)
        previous = answers.get(step)
        variables = {
            "number": form.index_of(step) + 1,
            "total": len(form.questions),
            "kind": question.type.value,
            "required": question.required,
            "label_en": question.labels["en"],
            "label_ar": question.labels["ar"],
            "hint_en": question.hints.get("en", ""),
            "hint_ar": question.hints.get("ar", ""),
            "previous_en": display_answer(question, previous, "en") if previous else "",
            "previous_ar": display_answer(question, previous, "ar") if previous else "",
        }
        text = Text("surveys.flow.question", variables)
        if question.type is QuestionType.NOTE:
            next_button = Choice(NEXT, label_key="surveys.flow.next")
            return Prompt(text, choices=(next_button,), can_go_back=can_go_back)
        choices = tuple(Choice(o.name, labels=o.labels) for o in question.options)
        multi = question.type is QuestionType.SELECT_MULTIPLE
        if previous and not multi:
            choices = (*choices, Choice(KEEP, label_key="surveys.flow.keep"))
        short = all(len(o.labels["en"]) <= SHORT_LABEL for o in question.options)
        return Prompt(
            text,
            choices=choices,
            columns=2 if short and len(question.options) > 3 else 1,
            multi=multi,
            selected=frozenset(data.get(SELECTED, {}).get(step, [])) if multi else frozenset(),
            can_go_back=can_go_back,
            can_skip=not question.required,
        )

    def accept(self, step: str, data: dict[str, Any], given: FlowInput) -> StepResult:
        form = self.form_of(data)
        if step == SUBMIT_STEP:
            if given.choice == SUBMIT:
                return Finished(data)
            return Invalid(Text("flow.use_buttons"))
        question = form.question(step)
        answers: dict[str, str] = dict(data.get(ANSWERS, {}))
        if question.type is QuestionType.NOTE:
            if given.choice != NEXT:
                return Invalid(Text("surveys.flow.press_next"))
            return self._advance(form, question, data, answers)
        try:
            value = self._value_of(question, answers, given)
        except AnswerRejected as rejected:
            return Invalid(Text(rejected.key, rejected.variables))
        if value == "" and question.required:
            return Invalid(Text("surveys.flow.required"))
        if (
            value
            and question.constraint
            and not holds(question.constraint, self._env(answers, current=value))
        ):
            return Invalid(self._constraint_notice(question))
        if value:
            answers[step] = value
        else:
            answers.pop(step, None)
        return self._advance(form, question, data, answers)

    async def finish(
        self, uow: UnitOfWork, user_id: int, data: dict[str, Any], now: datetime
    ) -> Completion:
        form = self.form_of(data)
        answers = relevant_answers(form, data.get(ANSWERS, {}), self._today())
        saved = await submit_response(uow, int(data[SURVEY_ID]), user_id, answers, now)
        key = "surveys.flow.revised" if saved.revised else "surveys.flow.thanks"
        return Completion(
            Text(key, {"title_en": form.titles["en"], "title_ar": form.titles["ar"]})
        )

    # ------------------------------------------------------------------ details

    def _value_of(self, question: Question, answers: dict[str, str], given: FlowInput) -> str:
        if given.choice == KEEP and question.name in answers:
            return answers[question.name]
        if given.choice == SKIP:
            return ""
        if question.type is QuestionType.SELECT_ONE:
            if given.choice in {o.name for o in question.options}:
                return str(given.choice)
            raise AnswerRejected("flow.use_buttons")
        if question.type is QuestionType.SELECT_MULTIPLE:
            if given.choices is None:
                raise AnswerRejected("flow.use_buttons")
            chosen = set(given.choices)
            return " ".join(o.name for o in question.options if o.name in chosen)
        if given.text is None:
            raise AnswerRejected("surveys.flow.type_answer")
        return parse_typed_answer(question, given.text)

    @staticmethod
    def _constraint_notice(question: Question) -> Text:
        messages = question.constraint_messages
        if not messages:
            return Text("surveys.flow.constraint_default")
        return Text(
            "surveys.flow.constraint", {"message_en": messages["en"], "message_ar": messages["ar"]}
        )

    def _advance(
        self, form: SurveyForm, question: Question, data: dict[str, Any], answers: dict[str, str]
    ) -> Next:
        following = self.next_step(form, form.index_of(question.name), answers)
        new_data = dict(data)
        new_data[ANSWERS] = answers
        if following != SUBMIT_STEP and following in answers:
            upcoming = form.question(following)
            if upcoming.type is QuestionType.SELECT_MULTIPLE:
                selections = dict(new_data.get(SELECTED, {}))
                selections[following] = answers[following].split()
                new_data[SELECTED] = selections
        return Next(following, new_data)
