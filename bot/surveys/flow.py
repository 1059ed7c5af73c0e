"""The one flow that runs any survey form on the flow engine, one question at a time.

Steps name a question by its key, with the repeat instance it is asked in
(`age`, `member_age@2`, `visit_date@2.1`); `~more:S@2` asks whether to add another instance
of repeat S after instance 2 (repeats without a `repeat_count`); `~submit` reviews and sends.
A question is asked when it and every group around it are relevant (evaluated against the
answers so far, as ODK does); calculations are evaluated when read and stored at submission;
`${…}` in labels, hints and messages is replaced by the answer. `required`, typed-value checks
and `constraint` (with the form's messages in the member's language) decide whether an answer
is accepted.

Long choice lists are paged (at most `PAGE_ROWS` rows of buttons) and can be searched by typing
part of a label, Arabic spelling variants folded. Locations come as Telegram locations or
typed coordinates; photos, voice notes, videos and files as Telegram media (stored as
`kind:file_id`, like report media). The engine stores the step and the answers after every
input, so a member can stop and continue later, even after a restart.

Flow data: `_survey` (id; the form is loaded by `prepare`, once per survey), `answers`
(storage key → XLSForm value), `_counts` (repeat instances), `_page` / `_search` (the choice
list position), `_meta` (start time) and `_resume` (where to continue a saved draft).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from sqlalchemy import select

from bot.engines.flows import (
    DONE,
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
from bot.engines.numbers import normalise_digits
from bot.surveys.answer_values import AnswerRejected, display_answer, parse_typed_answer
from bot.surveys.responses import submit_response
from bot.surveys.xlsform.expressions import (
    Environment,
    ExpressionError,
    NodeSet,
    Value,
    evaluate,
    parse,
    to_boolean,
    to_number,
    to_string,
)
from bot.surveys.xlsform.form import (
    LOCATION_TYPES,
    MEDIA_TYPES,
    Option,
    Question,
    QuestionType,
    Section,
    SurveyForm,
)
from storage.database import UnitOfWork
from storage.models import Survey

FLOW_NAME = "survey"
SUBMIT_STEP = "~submit"
SUBMIT = "~submit"
KEEP = "~keep"
NEXT = "~next"
AGAIN = "~again"
ENOUGH = "~enough"
PAGE_PREVIOUS = "~pgprev"
PAGE_NEXT = "~pgnext"
SEARCH_CLEAR = "~pgall"
MORE_PREFIX = "~more:"
SURVEY_ID = "_survey"
FORM = "_form"
ANSWERS = "answers"
RESUME = "_resume"
COUNTS = "_counts"
PAGE = "_page"
SEARCH = "_search"
META = "_meta"
DEFAULTS = "_defaults"
POINTS = "_points"
SHORT_LABEL = 18
PAGE_ROWS = 8  # rows of choice buttons in one message (Telegram allows 100 buttons; a chat, less)
MAX_REPEAT = 50  # instances of one repeat, whatever repeat_count says
_PIPE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.\-]*)\}")
_NUMBER = r"(-?\d+(?:\.\d+)?)"
# `lat, lon` or `lat lon`, optionally with ODK's altitude and accuracy after them.
_COORDINATES = re.compile(
    rf"\s*{_NUMBER}\s*[,،\s]\s*{_NUMBER}(?:\s+{_NUMBER}(?:\s+{_NUMBER})?)?\s*"
)
TRACE_TYPES = frozenset({QuestionType.GEOTRACE, QuestionType.GEOSHAPE})
MIN_POINTS = {QuestionType.GEOTRACE: 2, QuestionType.GEOSHAPE: 3}
MAX_POINTS = 500  # points of one trace or shape
MINIMAL_ROWS = 4  # appearance `minimal`: a compact keyboard, paged sooner
MINIMAL_LABEL = 12
INTRO_QUESTIONS = 12  # a field-list section lists at most this many of its questions
_MEDIA_KINDS = {
    QuestionType.IMAGE: frozenset({"photo", "document"}),
    QuestionType.AUDIO: frozenset({"voice", "audio", "document"}),
    QuestionType.VIDEO: frozenset({"video", "document"}),
    QuestionType.FILE: frozenset({"document", "photo", "video", "audio", "voice"}),
    QuestionType.BARCODE: frozenset({"photo"}),
}
_ARABIC_FOLD = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ة": "ه",
        "ى": "ي",
        "ئ": "ي",
        "ؤ": "و",
        "ـ": None,
    }
)
_DIACRITICS = re.compile("[\u064b-\u0652\u0670]")
SCALE_LABEL = 10  # a scale (ratings, 1-5) of labels this short sits in one row
SCALE_SIZE = 5


def fold(text: str) -> str:
    """Text as search compares it: case, Arabic hamza/alef/taa-marbuta variants folded."""
    return _DIACRITICS.sub("", normalise_digits(text).translate(_ARABIC_FOLD)).casefold().strip()


def instance_key(question: Question, idx: tuple[int, ...]) -> str:
    """The storage key of an answer: `age`, or `age[2]` in instance 2 of its repeat."""
    if not idx:
        return question.key
    return f"{question.key}[{'.'.join(str(i) for i in idx)}]"


def _idx_text(idx: tuple[int, ...]) -> str:
    return ".".join(str(i) for i in idx)


def _parse_idx(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part)


def question_step(form: SurveyForm, index: int, idx: tuple[int, ...]) -> str:
    key = form.questions[index].key
    return f"{key}@{_idx_text(idx)}" if idx else key


def parse_step(form: SurveyForm, step: str) -> tuple[int, tuple[int, ...]] | None:
    if step.startswith("~"):
        return None
    head, _, tail = step.partition("@")
    try:
        return form.index_of(head), _parse_idx(tail)
    except (KeyError, ValueError):
        return None


class Answers:
    """The answers of one pass, read the way expressions see them (groups, repeats, calcs)."""

    def __init__(
        self,
        form: SurveyForm,
        answers: Mapping[str, str],
        counts: Mapping[str, int],
        today: date,
        now: datetime | None = None,
        meta: Mapping[str, str] | None = None,
        defaults: Mapping[str, str] | None = None,
    ) -> None:
        self.form = form
        self.answers = answers
        self.counts = counts
        self.today = today
        self.now = now
        self.meta = meta or {}
        self.defaults = defaults or {}
        self._calculating: set[str] = set()

    def count(self, section: int, outer: tuple[int, ...]) -> int:
        return int(self.counts.get(f"{section}@{_idx_text(outer)}", 0))

    def value(self, index: int, idx: tuple[int, ...]) -> str:
        question = self.form.questions[index]
        key = instance_key(question, idx)
        if key in self.answers:
            return self.answers[key]
        kind = question.type
        if question.calculation and key not in self._calculating:
            self._calculating.add(key)
            try:
                return to_string(evaluate(question.calculation, self.env(index, idx)))
            finally:
                self._calculating.discard(key)
        if kind is QuestionType.TODAY:
            return self.today.isoformat()
        if kind in (QuestionType.START, QuestionType.DEVICEID):
            return self.meta.get(kind.value, "")
        if key in self.defaults:
            return self.defaults[key]
        return self.default(index, idx)

    def default(self, index: int, idx: tuple[int, ...]) -> str:
        """The question's `default`: a value, or an expression (`today()`, `${other}`)
        evaluated now, against the answers so far."""
        question = self.form.questions[index]
        source = question.default
        if not source:
            return ""
        if not question.default_dynamic:
            return "" if source.startswith("${") else source
        key = instance_key(question, idx)
        if key in self._calculating:
            return ""
        self._calculating.add(key)
        try:
            return to_string(evaluate(source, self.env(index, idx)))
        except (ExpressionError, RecursionError, ValueError, OverflowError):
            return ""
        finally:
            self._calculating.discard(key)

    def required(self, index: int, idx: tuple[int, ...]) -> bool:
        """`required` yes/no, or as an expression (`${age} > 18`) evaluated at the question."""
        question = self.form.questions[index]
        if question.required:
            return True
        return bool(question.required_if) and self.holds(question.required_if, index, idx)

    def lookup(
        self, repeats: tuple[int, ...], idx: tuple[int, ...]
    ) -> Callable[[str, bool], Value]:
        def resolve(name: str, every_instance: bool) -> Value:
            target = self.form.find(name)
            if target is None:
                return ""  # a group or repeat named as a whole (indexed-repeat's 2nd argument)
            chain = self.form.questions[target].repeats
            common = 0
            while common < min(len(chain), len(repeats)) and chain[common] == repeats[common]:
                common += 1
            if common == len(chain) and not (every_instance and chain):
                return self.value(target, idx[:common])
            if every_instance and common == len(chain):
                common -= 1
            return NodeSet(self._all(target, chain, idx[:common]))

        return resolve

    def _all(self, target: int, chain: tuple[int, ...], prefix: tuple[int, ...]) -> list[str]:
        if len(prefix) == len(chain):
            return [self.value(target, prefix)]
        values: list[str] = []
        for instance in range(1, self.count(chain[len(prefix)], prefix) + 1):
            values.extend(self._all(target, chain, (*prefix, instance)))
        return values

    def env(self, index: int, idx: tuple[int, ...], current: str = "") -> Environment:
        question = self.form.questions[index] if 0 <= index < len(self.form.questions) else None
        repeats = question.repeats if question is not None else ()
        return self.env_in(repeats, idx, current)

    def env_in(
        self, repeats: tuple[int, ...], idx: tuple[int, ...], current: str = ""
    ) -> Environment:
        return Environment(
            self.answers,
            current=current,
            today=self.today,
            now=self.now,
            lookup=self.lookup(repeats, idx),
            position=idx[-1] if idx else 0,
            items=self._items,
            choice_label=self._choice_label,
            indexed=self.indexed(repeats, idx),
        )

    def indexed(
        self, repeats: tuple[int, ...], idx: tuple[int, ...]
    ) -> Callable[[str, list[tuple[str, int]]], Value]:
        """indexed-repeat() at any depth: the repeats named get the instance given; a repeat
        not named is the instance being answered (when the question is inside it), else 1."""

        def read(name: str, pairs: list[tuple[str, int]]) -> Value:
            target = self.form.find(name)
            if target is None:
                return ""
            given: dict[int, int] = {}
            for repeat_name, number in pairs:
                section = self.form.section_by_name.get(repeat_name)
                if section is None:
                    return ""
                given[section] = number
            chain = self.form.questions[target].repeats
            chosen: list[int] = []
            for level, section in enumerate(chain):
                if section in given:
                    number = given[section]
                elif level < len(repeats) and repeats[: level + 1] == chain[: level + 1]:
                    number = idx[level]
                else:
                    number = 1
                if not 1 <= number <= self.count(section, tuple(chosen)):
                    return ""
                chosen.append(number)
            return self.value(target, tuple(chosen))

        return read

    def _items(self, list_name: str) -> list[Mapping[str, str]]:
        options = self.form.lists.get(list_name, ())
        return [{"name": o.name, **o.fields, "label": o.labels.get("en", "")} for o in options]

    def _choice_label(self, name: str, value: str) -> str:
        index = self.form.find(name)
        if index is None:
            return value
        return self.form.questions[index].option_label(value, "en")

    def holds(
        self, source: str | None, index: int, idx: tuple[int, ...], current: str = ""
    ) -> bool:
        if not source:
            return True
        try:
            return to_boolean(evaluate(source, self.env(index, idx, current)))
        except (ExpressionError, RecursionError, ValueError, OverflowError):
            return False

    def relevant(self, index: int, idx: tuple[int, ...]) -> bool:
        question = self.form.questions[index]
        for section in question.sections:
            source = self.form.sections[section].relevant
            if source and not self.holds(source, index, idx):
                return False
        return self.holds(question.relevant, index, idx)

    def pipe(self, text: str, index: int, idx: tuple[int, ...]) -> str:
        if "${" not in text:
            return text
        resolve = self.env(index, idx).lookup
        assert resolve is not None
        return _PIPE.sub(lambda m: to_string(resolve(m.group(1), False)), text)


class SurveyFlow:
    """Walks any parsed form; registered once under the name `survey`."""

    name = FLOW_NAME

    def __init__(
        self,
        today: Callable[[], date],
        now: Callable[[], datetime] | None = None,
        timezone: tzinfo = UTC,
    ) -> None:
        self._today = today
        self._now = now or (lambda: datetime.now(UTC))
        self._timezone = timezone
        self._forms: dict[int, SurveyForm] = {}

    def moment(self, when: datetime) -> str:
        """A moment as Kobo (ODK Collect) records `start` and `end`: local time in `TIMEZONE`
        with milliseconds and the offset, `2025-03-01T12:00:00.000+03:00`."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return when.astimezone(self._timezone).isoformat(timespec="milliseconds")

    async def prepare(self, uow: UnitOfWork, data: Mapping[str, Any]) -> None:
        """Load the survey's form once (definitions never change once imported): flow data
        carries only the survey id, so a long form costs nothing per answer."""
        survey_id = int(data[SURVEY_ID])
        if survey_id in self._forms:
            return
        if FORM in data:  # a pass started before forms were loaded by id
            self._forms[survey_id] = SurveyForm.from_json(data[FORM])
            return
        definition = await uow.session.scalar(
            select(Survey.definition).where(Survey.id == survey_id)
        )
        if definition is not None:
            self._forms[survey_id] = SurveyForm.from_json(definition)

    def form_of(self, data: Mapping[str, Any]) -> SurveyForm:
        survey_id = int(data[SURVEY_ID])
        form = self._forms.get(survey_id)
        if form is None:
            form = SurveyForm.from_json(data[FORM])
            self._forms[survey_id] = form
        return form

    def state(
        self, form: SurveyForm, data: Mapping[str, Any], answers: Mapping[str, str] | None = None
    ) -> Answers:
        return Answers(
            form,
            data.get(ANSWERS, {}) if answers is None else answers,
            data.get(COUNTS, {}),
            self._today(),
            self._now(),
            data.get(META, {}),
            data.get(DEFAULTS, {}),
        )

    # ------------------------------------------------------------------ walking the form

    def scan(
        self, state: Answers, start: int, stack: list[tuple[int, int]], counts: dict[str, int]
    ) -> str:
        """The next step from question `start` with repeats `stack` (section, instance) open."""
        form = state.form
        sections = form.sections
        total = len(form.questions)
        j = start
        while True:
            # Close the repeats that question j is not in.
            while stack and not sections[stack[-1][0]].start <= j < sections[stack[-1][0]].end:
                section, instance = stack[-1]
                outer = tuple(i for _, i in stack[:-1])
                count_source = sections[section].repeat_count
                if count_source is None:
                    return f"{MORE_PREFIX}{section}@{_idx_text((*outer, instance))}"
                wanted = self._repeat_count(state, section, stack)
                if instance < wanted:
                    stack[-1] = (section, instance + 1)
                    counts[f"{section}@{_idx_text(outer)}"] = instance + 1
                    j = sections[section].start
                    break
                stack.pop()
            else:
                if j >= total:
                    return SUBMIT_STEP
                question = form.questions[j]
                # Enter the repeats question j is in.
                entered = True
                while len(stack) < len(question.repeats):
                    section = question.repeats[len(stack)]
                    outer = tuple(i for _, i in stack)
                    probe = Answers(
                        state.form,
                        state.answers,
                        counts,
                        state.today,
                        state.now,
                        state.meta,
                        state.defaults,
                    )
                    section_info = sections[section]
                    relevant = (
                        probe.holds(section_info.relevant, section_info.start, (*outer, 1))
                        if section_info.relevant
                        else True
                    )
                    count = (
                        self._repeat_count(probe, section, [*stack, (section, 1)])
                        if section_info.repeat_count
                        else 1
                    )
                    if not relevant or count < 1:
                        j = section_info.end
                        entered = False
                        break
                    stack.append((section, 1))
                    key = f"{section}@{_idx_text(outer)}"
                    counts[key] = max(int(counts.get(key, 0)), 1)
                if not entered:
                    continue
                idx = tuple(i for _, i in stack)
                state.counts = counts
                skip_to = self._skipped_group(state, j, idx)
                if skip_to is not None:
                    j = skip_to
                    continue
                if question.asked and state.holds(question.relevant, j, idx):
                    return question_step(form, j, idx)
                j += 1

    def _skipped_group(self, state: Answers, j: int, idx: tuple[int, ...]) -> int | None:
        """Where to continue when a group around question j is not relevant."""
        question = state.form.questions[j]
        for section in question.sections:
            info = state.form.sections[section]
            if info.relevant and not state.holds(info.relevant, j, idx):
                return info.end
        return None

    def _repeat_count(self, state: Answers, section: int, stack: list[tuple[int, int]]) -> int:
        info = state.form.sections[section]
        if info.repeat_count is None:
            return MAX_REPEAT
        outer_idx = tuple(i for _, i in stack[:-1])
        repeats = tuple(s for s, _ in stack[:-1])
        try:
            number = to_number(evaluate(info.repeat_count, state.env_in(repeats, outer_idx)))
        except (ExpressionError, RecursionError, ValueError):
            return 0
        if number != number:  # NaN: not answered yet
            return 0
        return max(0, min(int(number), MAX_REPEAT))

    def _stack(self, form: SurveyForm, index: int, idx: tuple[int, ...]) -> list[tuple[int, int]]:
        return list(zip(form.questions[index].repeats, idx, strict=False))

    def after(
        self, state: Answers, index: int, idx: tuple[int, ...], counts: dict[str, int]
    ) -> str:
        return self.scan(state, index + 1, self._stack(state.form, index, idx), counts)

    # ------------------------------------------------------------------ the Flow protocol

    def first_step(self, data: dict[str, Any]) -> str:
        form = self.form_of(data)
        resume = data.pop(RESUME, None)
        data.setdefault(META, {"start": self.moment(self._now())})
        if resume == SUBMIT_STEP or (isinstance(resume, str) and self._valid_step(form, resume)):
            return str(resume)
        counts = dict(data.get(COUNTS, {}))
        step = self.scan(self.state(form, data), 0, [], counts)
        data[COUNTS] = counts
        self._reach(form, step, data)
        return step

    def _reach(self, form: SurveyForm, step: str, data: dict[str, Any]) -> None:
        """A question is reached: an expression `default` is evaluated now, once per
        instance (as ODK does when the question's instance is created), and kept."""
        parsed = parse_step(form, step)
        if parsed is None:
            return
        index, idx = parsed
        question = form.questions[index]
        if not question.default_dynamic:
            return
        key = instance_key(question, idx)
        defaults = dict(data.get(DEFAULTS, {}))
        if key in defaults or key in data.get(ANSWERS, {}):
            return
        defaults[key] = self.state(form, data).default(index, idx)
        data[DEFAULTS] = defaults

    @staticmethod
    def _valid_step(form: SurveyForm, step: str) -> bool:
        if step.startswith(MORE_PREFIX):
            return True
        return parse_step(form, step) is not None

    def prompt(self, step: str, data: dict[str, Any]) -> Prompt:
        form = self.form_of(data)
        answers: dict[str, str] = data.get(ANSWERS, {})
        can_go_back = bool(data.get(HISTORY))
        if step == SUBMIT_STEP:
            count = len(self.submission(form, data))
            return Prompt(
                Text("surveys.flow.review", {"answered": count}),
                choices=(Choice(SUBMIT, label_key="surveys.flow.submit"),),
                can_go_back=can_go_back,
            )
        if step.startswith(MORE_PREFIX):
            section, idx = self._more(step)
            info = form.sections[section]
            return Prompt(
                Text(
                    "surveys.flow.add_another",
                    {
                        "group_en": info.labels.get("en") or info.name,
                        "group_ar": info.labels.get("ar") or info.name,
                        "count": idx[-1] if idx else 0,
                    },
                ),
                choices=(
                    Choice(AGAIN, label_key="surveys.flow.add_yes"),
                    Choice(ENOUGH, label_key="surveys.flow.add_no"),
                ),
                columns=2,
                can_go_back=can_go_back,
            )
        parsed = parse_step(form, step)
        assert parsed is not None
        index, idx = parsed
        question = form.questions[index]
        state = self.state(form, data)
        key = instance_key(question, idx)
        previous = answers.get(key) or state.defaults.get(key) or state.default(index, idx)
        required = state.required(index, idx)
        points = list(data.get(POINTS, {}).get(step, []))
        section_number, section_labels = self._section_of(form, question)
        variables = {
            "number": form.asked_numbers[index],
            "total": form.asked_numbers[-1] if form.asked_numbers else 0,
            "section": section_number,
            "sections": len(form.top_sections),
            "group_en": section_labels.get("en", ""),
            "group_ar": section_labels.get("ar", ""),
            "instance": idx[-1] if idx else 0,
            "kind": question.type.value,
            "required": required,
            "multiline": question.type is QuestionType.TEXT and "multiline" in question.appearance,
            "points": len(points),
            "minimum": MIN_POINTS.get(question.type, 0),
            "label_en": state.pipe(question.labels.get("en", ""), index, idx),
            "label_ar": state.pipe(question.labels.get("ar", ""), index, idx),
            "hint_en": state.pipe(question.hints.get("en", ""), index, idx),
            "hint_ar": state.pipe(question.hints.get("ar", ""), index, idx),
            "previous_en": display_answer(question, previous, "en") if previous else "",
            "previous_ar": display_answer(question, previous, "ar") if previous else "",
            "value": state.value(index, idx) if question.read_only else "",
            "searchable": False,
            "search": data.get(SEARCH, {}).get(step, ""),
            "page": 0,
            "pages": 0,
            **self._intro(state, index, idx),
        }
        if question.type is QuestionType.NOTE or (question.read_only and not question.is_choice):
            next_button = Choice(NEXT, label_key="surveys.flow.next")
            return Prompt(
                Text("surveys.flow.question", variables),
                choices=(next_button,),
                can_go_back=can_go_back,
            )
        if question.type is QuestionType.ACKNOWLEDGE:
            ok = Choice("OK", label_key="surveys.flow.acknowledge")
            return Prompt(
                Text("surveys.flow.question", variables),
                choices=(ok,),
                can_go_back=can_go_back,
                can_skip=not required,
            )
        choices: tuple[Choice, ...] = ()
        columns = 1
        multi = question.type in (QuestionType.SELECT_MULTIPLE, QuestionType.RANK)
        if question.is_choice:
            options = self.options(state, index, idx)
            search = data.get(SEARCH, {}).get(step, "")
            if search:
                wanted = fold(search)
                options = [
                    o for o in options if any(wanted in fold(label) for label in o.labels.values())
                ]
            columns, per_page = _layout(question, options)
            pages = max(1, -(-len(options) // per_page))
            page = min(int(data.get(PAGE, {}).get(step, 0)), pages - 1)
            shown = options[page * per_page : (page + 1) * per_page]
            choices = tuple(Choice(o.name, labels=o.labels) for o in shown)
            navigation: list[Choice] = []
            if page > 0:
                navigation.append(Choice(PAGE_PREVIOUS, label_key="surveys.flow.page_previous"))
            if page < pages - 1:
                navigation.append(Choice(PAGE_NEXT, label_key="surveys.flow.page_next"))
            if search:
                navigation.append(Choice(SEARCH_CLEAR, label_key="surveys.flow.search_clear"))
            if navigation and columns < len(navigation):
                columns = max(columns, len(navigation))
                choices = tuple(Choice(o.name, labels=o.labels) for o in shown)
            choices = (*choices, *navigation)
            variables["searchable"] = pages > 1 or bool(search)
            variables["page"] = page + 1
            variables["pages"] = pages
        if previous and not multi:
            choices = (*choices, Choice(KEEP, label_key="surveys.flow.keep"))
        return Prompt(
            Text("surveys.flow.question", variables),
            choices=choices,
            columns=columns,
            multi=multi,
            selected=frozenset(data.get(SELECTED, {}).get(step, [])) if multi else frozenset(),
            can_go_back=can_go_back,
            can_skip=not required,
            can_finish=question.type in TRACE_TYPES,
            request_location=question.type in LOCATION_TYPES,
        )

    def _intro(self, state: Answers, index: int, idx: tuple[int, ...]) -> dict[str, Any]:
        """A `field-list` group is shown as a section: its first question lists what the
        section asks (the questions relevant now), then they are asked one at a time."""
        form = state.form
        question = form.questions[index]
        info: Section | None = next(
            (
                form.sections[s]
                for s in reversed(question.sections)
                if "field-list" in form.sections[s].appearance
            ),
            None,
        )
        if info is None:
            return {"intro_en": [], "intro_ar": []}
        listed: list[int] = []
        for j in range(info.start, info.end):
            other = form.questions[j]
            if other.repeats != question.repeats or not other.asked:
                continue
            if j != index and not state.relevant(j, idx):
                continue
            if not listed and j != index:
                return {"intro_en": [], "intro_ar": []}  # not the section's first question
            listed.append(j)
            if len(listed) >= INTRO_QUESTIONS:
                break
        return {
            f"intro_{language}": [
                state.pipe(form.questions[j].labels.get(language, ""), j, idx) for j in listed
            ]
            for language in ("en", "ar")
        }

    def options(self, state: Answers, index: int, idx: tuple[int, ...]) -> list[Option]:
        question = state.form.questions[index]
        if not question.choice_filter:
            return list(question.options)
        expression = parse(question.choice_filter, True)
        kept = []
        base = state.env(index, idx)
        for option in question.options:
            fields = {"name": option.name, **option.fields}
            env = dataclasses.replace(base, field=_reader(fields))
            try:
                if to_boolean(evaluate(expression, env)):
                    kept.append(option)
            except (ExpressionError, RecursionError, ValueError):
                continue
        return kept

    @staticmethod
    def _section_of(form: SurveyForm, question: Question) -> tuple[int, dict[str, str]]:
        if not question.sections:
            return 0, {}
        top = question.sections[0]
        number = form.top_sections.index(top) + 1 if top in form.top_sections else 0
        innermost = form.sections[question.sections[-1]]
        return number, innermost.labels

    @staticmethod
    def _more(step: str) -> tuple[int, tuple[int, ...]]:
        head, _, tail = step.removeprefix(MORE_PREFIX).partition("@")
        return int(head), _parse_idx(tail)

    def accept(self, step: str, data: dict[str, Any], given: FlowInput) -> StepResult:
        form = self.form_of(data)
        if step == SUBMIT_STEP:
            if given.choice == SUBMIT:
                return Finished(data)
            return Invalid(Text("flow.use_buttons"))
        counts = dict(data.get(COUNTS, {}))
        if step.startswith(MORE_PREFIX):
            return self._accept_more(form, step, data, given, counts)
        parsed = parse_step(form, step)
        assert parsed is not None
        index, idx = parsed
        question = form.questions[index]
        answers: dict[str, str] = dict(data.get(ANSWERS, {}))
        state = self.state(form, data, answers)
        key = instance_key(question, idx)
        if question.type is QuestionType.NOTE or (question.read_only and not question.is_choice):
            if given.choice != NEXT:
                return Invalid(Text("surveys.flow.press_next"))
            return self._advance(state, index, idx, data, answers, counts)
        if given.choice in (PAGE_PREVIOUS, PAGE_NEXT, SEARCH_CLEAR):
            return self._turn_page(step, data, given.choice)
        if question.is_choice and given.text is not None and given.choice is None:
            searched = self._search(state, step, index, idx, data, given.text)
            if searched is not None:
                return searched
        if question.type in TRACE_TYPES and given.choice is None:
            return self._add_points(step, question, data, given)
        try:
            points = data.get(POINTS, {}).get(step, [])
            value = self._value_of(question, key, answers, given, state, index, idx, points)
        except AnswerRejected as rejected:
            return Invalid(Text(rejected.key, rejected.variables))
        if value == "" and state.required(index, idx):
            messages = question.required_messages
            if messages:
                return Invalid(
                    Text(
                        "surveys.flow.constraint",
                        {
                            "message_en": state.pipe(messages["en"], index, idx),
                            "message_ar": state.pipe(messages["ar"], index, idx),
                        },
                    )
                )
            return Invalid(Text("surveys.flow.required"))
        if (
            value
            and question.constraint
            and not state.holds(question.constraint, index, idx, current=value)
        ):
            return Invalid(self._constraint_notice(state, question, index, idx))
        if value:
            answers[key] = value
        else:
            answers.pop(key, None)
        if step in data.get(POINTS, {}):
            data = dict(data)
            data[POINTS] = {k: v for k, v in data[POINTS].items() if k != step}
        return self._advance(state, index, idx, data, answers, counts)

    def _add_points(
        self, step: str, question: Question, data: dict[str, Any], given: FlowInput
    ) -> StepResult:
        """A trace or shape is answered point by point (locations, or typed coordinates),
        then **Done**."""
        try:
            added = self._points(given)
        except AnswerRejected as rejected:
            return Invalid(Text(rejected.key, rejected.variables))
        traces = dict(data.get(POINTS, {}))
        points = [*traces.get(step, []), *added][:MAX_POINTS]
        traces[step] = points
        new_data = dict(data)
        new_data[POINTS] = traces
        minimum = MIN_POINTS[question.type]
        return Next(
            step,
            new_data,
            notice=Text(
                "surveys.trace.added",
                {"count": len(points), "minimum": minimum, "kind": question.type.value},
            ),
        )

    def _accept_more(
        self,
        form: SurveyForm,
        step: str,
        data: dict[str, Any],
        given: FlowInput,
        counts: dict[str, int],
    ) -> StepResult:
        section, idx = self._more(step)
        info = form.sections[section]
        outer, instance = idx[:-1], idx[-1]
        stack = (
            list(zip(form.questions[info.start].repeats, idx, strict=False))
            if info.start < len(form.questions)
            else []
        )
        stack = [item for item in stack if item[0] != section][: len(outer)]
        stack = list(zip([s for s, _ in stack], outer, strict=False))
        state = self.state(form, data)
        key = f"{section}@{_idx_text(outer)}"
        if given.choice == AGAIN and instance < MAX_REPEAT:
            counts[key] = max(int(counts.get(key, 0)), instance + 1)
            state.counts = counts
            step_next = self.scan(state, info.start, [*stack, (section, instance + 1)], counts)
        elif given.choice in (AGAIN, ENOUGH):
            counts[key] = instance
            state.counts = counts
            step_next = self.scan(state, info.end, stack, counts)
        else:
            return Invalid(Text("flow.use_buttons"))
        new_data = dict(data)
        new_data[COUNTS] = counts
        self._reach(form, step_next, new_data)
        return Next(step_next, new_data)

    def _turn_page(self, step: str, data: dict[str, Any], choice: str) -> Next:
        pages = dict(data.get(PAGE, {}))
        current = int(pages.get(step, 0))
        new_data = dict(data)
        if choice == SEARCH_CLEAR:
            searches = dict(data.get(SEARCH, {}))
            searches.pop(step, None)
            new_data[SEARCH] = searches
            pages[step] = 0
        else:
            pages[step] = max(0, current + (1 if choice == PAGE_NEXT else -1))
        new_data[PAGE] = pages
        return Next(step, new_data)

    def _search(
        self,
        state: Answers,
        step: str,
        index: int,
        idx: tuple[int, ...],
        data: dict[str, Any],
        text: str,
    ) -> StepResult | None:
        options = self.options(state, index, idx)
        if len(options) <= _layout(state.form.questions[index], options)[1]:
            return None  # a list on one page: buttons only
        wanted = fold(text)
        if not wanted:
            return None
        matches = [o for o in options if any(wanted in fold(label) for label in o.labels.values())]
        if not matches:
            return Invalid(Text("surveys.flow.search_none", {"text": text.strip()[:60]}))
        new_data = dict(data)
        searches = dict(data.get(SEARCH, {}))
        searches[step] = text.strip()[:60]
        pages = dict(data.get(PAGE, {}))
        pages[step] = 0
        new_data[SEARCH], new_data[PAGE] = searches, pages
        return Next(
            step, new_data, notice=Text("surveys.flow.search_found", {"count": len(matches)})
        )

    async def finish(
        self, uow: UnitOfWork, user_id: int, data: dict[str, Any], now: datetime
    ) -> Completion:
        form = self.form_of(data)
        answers = self.submission(form, data, finished=now)
        device = next((q.key for q in form.questions if q.type is QuestionType.DEVICEID), None)
        saved = await submit_response(
            uow, int(data[SURVEY_ID]), user_id, answers, now, deviceid_key=device
        )
        key = "surveys.flow.revised" if saved.revised else "surveys.flow.thanks"
        return Completion(
            Text(key, {"title_en": form.titles["en"], "title_ar": form.titles["ar"]})
        )

    # ------------------------------------------------------------------ details

    def submission(
        self, form: SurveyForm, data: Mapping[str, Any], finished: datetime | None = None
    ) -> dict[str, str]:
        """What ODK would submit: answers of relevant questions in every instance, with
        calculations and metadata (start, end, today) evaluated."""
        state = self.state(form, data)
        counts = state.counts
        kept: dict[str, str] = {}
        for index, question in enumerate(form.questions):
            for idx in self._instances(form, question, counts):
                if not state.relevant(index, idx):
                    continue
                key = instance_key(question, idx)
                if question.type is QuestionType.END:
                    value = self.moment(finished or self._now())
                elif question.type is QuestionType.DEVICEID:
                    continue  # set at storage from the response's random id
                elif key in state.answers:
                    value = state.answers[key]
                elif question.type is QuestionType.NOTE:
                    continue
                else:
                    value = state.value(index, idx)
                if value:
                    kept[key] = value
        return kept

    def _instances(
        self, form: SurveyForm, question: Question, counts: Mapping[str, int]
    ) -> list[tuple[int, ...]]:
        combos: list[tuple[int, ...]] = [()]
        for section in question.repeats:
            combos = [
                (*prefix, i)
                for prefix in combos
                for i in range(1, int(counts.get(f"{section}@{_idx_text(prefix)}", 0)) + 1)
            ]
        return combos

    def _value_of(
        self,
        question: Question,
        key: str,
        answers: dict[str, str],
        given: FlowInput,
        state: Answers,
        index: int,
        idx: tuple[int, ...],
        points: Sequence[str] = (),
    ) -> str:
        if given.choice == KEEP:
            return answers.get(key) or state.value(index, idx)
        if given.choice == SKIP:
            return ""
        kind = question.type
        if kind is QuestionType.ACKNOWLEDGE:
            if given.choice == "OK":
                return "OK"
            raise AnswerRejected("flow.use_buttons")
        if kind is QuestionType.SELECT_ONE:
            if given.choice in {o.name for o in self.options(state, index, idx)}:
                return str(given.choice)
            raise AnswerRejected("flow.use_buttons")
        if kind in (QuestionType.SELECT_MULTIPLE, QuestionType.RANK):
            if given.choices is None:
                raise AnswerRejected("flow.use_buttons")
            if kind is QuestionType.RANK:
                return " ".join(given.choices)
            chosen = set(given.choices)
            return " ".join(o.name for o in question.options if o.name in chosen)
        if kind in TRACE_TYPES:
            if given.choice != DONE:
                raise AnswerRejected("flow.use_buttons")
            return self._trace(question, points)
        if kind in LOCATION_TYPES:
            return self._location(question, given)
        if kind in MEDIA_TYPES or (kind is QuestionType.BARCODE and given.media is not None):
            if given.media is None or given.media.kind not in _MEDIA_KINDS[kind]:
                raise AnswerRejected(f"surveys.flow.send_{kind.value}")
            return f"{given.media.kind}:{given.media.file_id}"
        if given.text is None:
            raise AnswerRejected("surveys.flow.type_answer")
        return parse_typed_answer(question, given.text)

    @staticmethod
    def _points(given: FlowInput) -> list[str]:
        """The points of one input, as ODK writes them (`lat lon alt acc`): a Telegram
        location, or typed `lat, lon` (Arabic-Indic digits and separators too), several
        separated by `;`."""
        if given.location is not None:
            latitude, longitude = given.location
            return [f"{latitude:.6f} {longitude:.6f} 0 0"]
        if given.text is None:
            raise AnswerRejected("surveys.flow.send_location")
        text = normalise_digits(given.text).replace("٫", ".").replace("؛", ";")
        points: list[str] = []
        for part in text.split(";"):
            if not part.strip() and points:
                continue  # a trailing ";"
            match = _COORDINATES.fullmatch(part)
            if not match:
                raise AnswerRejected("surveys.flow.send_location")
            latitude, longitude = float(match[1]), float(match[2])
            if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                raise AnswerRejected("surveys.flow.send_location")
            altitude = match[3] or "0"
            accuracy = match[4] or "0"
            points.append(f"{latitude:.6f} {longitude:.6f} {altitude} {accuracy}")
        return points

    def _location(self, question: Question, given: FlowInput) -> str:
        points = self._points(given)
        if len(points) != 1:
            raise AnswerRejected("surveys.flow.send_location")
        return points[0]

    @staticmethod
    def _trace(question: Question, points: Sequence[str]) -> str:
        """A trace (at least 2 points) or a shape (at least 3, closed on its first point, as
        ODK stores it)."""
        minimum = MIN_POINTS[question.type]
        distinct = list(points)
        closed = len(distinct) > 1 and distinct[0] == distinct[-1]
        if question.type is QuestionType.GEOSHAPE and closed:
            distinct = distinct[:-1]
        if len(distinct) < minimum:
            raise AnswerRejected(
                "surveys.trace.too_few",
                {"count": len(distinct), "minimum": minimum, "kind": question.type.value},
            )
        if question.type is QuestionType.GEOSHAPE:
            distinct.append(distinct[0])
        return ";".join(distinct)

    @staticmethod
    def _constraint_notice(
        state: Answers, question: Question, index: int, idx: tuple[int, ...]
    ) -> Text:
        messages = question.constraint_messages
        if not messages:
            return Text("surveys.flow.constraint_default")
        return Text(
            "surveys.flow.constraint",
            {
                "message_en": state.pipe(messages["en"], index, idx),
                "message_ar": state.pipe(messages["ar"], index, idx),
            },
        )

    def _advance(
        self,
        state: Answers,
        index: int,
        idx: tuple[int, ...],
        data: dict[str, Any],
        answers: dict[str, str],
        counts: dict[str, int],
    ) -> Next:
        state.answers = answers
        following = self.after(state, index, idx, counts)
        new_data = dict(data)
        new_data[ANSWERS] = answers
        new_data[COUNTS] = counts
        self._reach(state.form, following, new_data)
        parsed = parse_step(state.form, following)
        if parsed is not None:
            upcoming = state.form.questions[parsed[0]]
            key = instance_key(upcoming, parsed[1])
            if (
                upcoming.type in (QuestionType.SELECT_MULTIPLE, QuestionType.RANK)
                and key in answers
            ):
                selections = dict(new_data.get(SELECTED, {}))
                selections[following] = answers[key].split()
                new_data[SELECTED] = selections
        return Next(following, new_data)


def _reader(row: Mapping[str, str]) -> Callable[[str], str]:
    """A choice's columns, as `choice_filter` reads them."""
    return lambda column: row.get(column, "")


def _layout(question: Question, options: Sequence[Option]) -> tuple[int, int]:
    """(columns, options per page) of a choice keyboard. `likert`: one row; `minimal` (a
    drop-down in ODK): a compact keyboard of up to three short buttons a row and
    `MINIMAL_ROWS` rows a page, with type-to-search; `compact`/`quickcompact`: as many
    columns as fit."""
    appearance = question.appearance
    short = all(len(o.labels.get("en", "")) <= SHORT_LABEL for o in options)
    columns = _columns(options, short)
    rows = PAGE_ROWS
    if appearance.startswith("likert") and len(options) <= 7:
        columns = len(options)
    elif "minimal" in appearance:
        tiny = all(len(label) <= MINIMAL_LABEL for o in options for label in o.labels.values())
        columns = 3 if tiny and len(options) > 4 else (2 if short and len(options) > 2 else 1)
        rows = MINIMAL_ROWS
    elif "compact" in appearance and short:
        columns = max(columns, min(4, len(options)))
    return max(1, columns), rows * max(1, columns)


def _columns(options: Sequence[Option], short: bool) -> int:
    """One row for a short scale (a rating reads left to right), two columns for other
    short lists, one column for long labels."""
    scale = len(options) <= SCALE_SIZE and all(
        len(label) <= SCALE_LABEL for o in options for label in o.labels.values()
    )
    if scale and len(options) > 1:
        return len(options)
    return 2 if short and len(options) > 3 else 1
