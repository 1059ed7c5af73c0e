"""Simulated members that walk Hiwar's flows by reading what the bot shows them.

Used by the chaos test (tests/runtime/test_chaos.py) and the throughput benchmark
(bench/throughput.py). A member has goals in order — consent, a grievance report, a place in
a session, a survey — and on every new message in its chat it decides what to do from the
message itself: which buttons it carries (flow buttons are `f:VERSION:value`), and for a
survey which question's label it shows. So it continues correctly from whatever prompt it
sees, whether that is the next question, a resumed draft or a re-shown prompt.

Robustness rules, which make it safe to kill the bot at any moment:
* an input, once pushed, is never lost (the fake server keeps it until the bot has committed
  it to its inbox), so a member never sends the same answer twice: each action is done at
  most once per (step, state version); the description of a report is typed once, ever;
* only replies can be lost (the bot died between commit and send); when no new message
  arrives for `patience` seconds the member re-opens its current goal (/start, /report,
  /start s<ID>, /survey) and continues from the prompt it is shown; while the silence lasts
  it waits twice as long before each further re-open.

One loop drives every member (a thousand members cost one polling task).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from markupsafe import escape

from bot.grievances.directory import categories
from bot.members.demographics import GOVERNORATES
from bot.surveys.xlsform.form import QuestionType, SurveyForm
from tests.fake_telegram import FakeBotApi, SentMessage, SimulatedUser, TgUser

CONSENT, REPORT, SESSION, SURVEY = "consent", "report", "session", "survey"
REFERENCE = re.compile(r"GR-[0-9A-Z]{4}-[0-9A-Z]{4}")
CATEGORY_CODES = frozenset(c.code for c in categories())
REPLY_METHODS = frozenset({"sendMessage", "editMessageText", "sendPhoto", "sendDocument"})


@dataclass(frozen=True)
class Answer:
    """How a member answers one survey question."""

    kind: str  # "choose", "multi", "type", "skip", "next"
    values: tuple[str, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class Plan:
    """What every member of a crowd does, in order."""

    goals: tuple[str, ...]
    category: str = "public_services"
    governorate: str = "basra"
    urgency: str = "low"
    session_id: int | None = None
    survey_id: int | None = None
    survey_form: SurveyForm | None = None
    survey_answers: Mapping[str, Answer] = field(default_factory=dict)


def flow_values(message: SentMessage) -> tuple[int, dict[str, str]] | None:
    """(version, {value: callback data}) of a flow prompt, or None for other messages."""
    values: dict[str, str] = {}
    version = None
    for _label, data in message.buttons():
        if data.startswith("f:"):
            parts = data.split(":", 2)
            if len(parts) == 3 and parts[1].isdigit():
                version = int(parts[1])
                values[parts[2]] = data
    return None if version is None else (version, values)


def labelled(message: SentMessage, prefix: str) -> list[tuple[str, str]]:
    return [(label, data) for label, data in message.buttons() if data.startswith(prefix)]


class Member:
    """One member working through a plan; `decide` is called with each new message."""

    def __init__(self, api: FakeBotApi, user_id: int, language: str, plan: Plan) -> None:
        self.api = api
        self.user = SimulatedUser(api, TgUser(user_id, f"M{user_id}", language_code=language))
        self.language = language
        self.plan = plan
        self.goal_index = 0
        self.done_actions: set[tuple[object, ...]] = set()
        self.described = False
        self.submitted = False
        self.seen_id = 0
        self.seen_edits: dict[int, int] = {}
        self.pushed_at: list[float] = []
        self.kinds: list[str] = []  # "m" (message) or "p" (press), per input
        self.reopens = 0
        self.silent_reopens = 0
        self.last_activity = time.monotonic()

    @property
    def user_id(self) -> int:
        return self.user.user.id

    @property
    def description(self) -> str:
        return f"The water station in our street has been broken for weeks (member {self.user_id})"

    @property
    def goal(self) -> str | None:
        goals = self.plan.goals
        return goals[self.goal_index] if self.goal_index < len(goals) else None

    @property
    def finished(self) -> bool:
        return self.goal is None

    # ------------------------------------------------------------------ inputs

    def _send(self, text: str) -> None:
        self.user.send(text)
        self._pushed("m")

    def _press(self, message: SentMessage, data: str) -> None:
        self.user.press(message, data=data)
        self._pushed("p")

    def _pushed(self, kind: str) -> None:
        now = time.monotonic()
        self.pushed_at.append(now)
        self.kinds.append(kind)
        self.last_activity = now

    def _once(self, key: tuple[object, ...]) -> bool:
        if key in self.done_actions:
            return False
        self.done_actions.add(key)
        return True

    def open_goal(self) -> None:
        """Send the command that opens (or re-opens) the current goal."""
        goal = self.goal
        if goal == CONSENT:
            self._send("/start")
        elif goal == REPORT:
            self._send("/report")
        elif goal == SESSION:
            self._send(f"/start s{self.plan.session_id}")
        elif goal == SURVEY:
            self._send("/survey")

    def _goal_reached(self) -> None:
        self.goal_index += 1
        if not self.finished:
            self.open_goal()

    # ------------------------------------------------------------------ reading

    def poll(self, patience: float) -> None:
        """Look at the chat once: act on anything new, or re-open the goal after a silence."""
        if self.finished:
            return
        messages = self.api.messages_to(self.user.chat_id)
        fresh = [
            m
            for m in messages
            if m.message_id > self.seen_id or m.edits > self.seen_edits.get(m.message_id, 0)
        ]
        if not fresh:
            # Inputs are never lost, so one re-open per silence is enough: the next one only
            # after twice as long (a slow bot is not flooded with re-opens).
            if time.monotonic() - self.last_activity > patience * 2**self.silent_reopens:
                self.reopens += 1
                self.silent_reopens += 1
                self.open_goal()
            return
        for message in fresh:
            self.seen_id = max(self.seen_id, message.message_id)
            self.seen_edits[message.message_id] = message.edits
        self.last_activity = time.monotonic()
        self.silent_reopens = 0
        if self._reached(fresh):
            self._goal_reached()
            return
        self._act(messages[-1])

    def _reached(self, fresh: Sequence[SentMessage]) -> bool:
        goal = self.goal
        for message in fresh:
            if goal == CONSENT and labelled(message, "menu:"):
                return True
            if goal == REPORT:
                if REFERENCE.search(message.content):
                    return True
                prompt = flow_values(message)
                if self.submitted and prompt and CATEGORY_CODES & set(prompt[1]):
                    return True  # the report went in; /report opened a new draft
            if goal == SESSION and labelled(message, "ses:c:"):
                return True
            if goal == SURVEY:
                if any(label.startswith("✅") for label, _ in labelled(message, "svm:")):
                    return True
                thanks = message.content.startswith("✅") and "/survey" in message.content
                if thanks and message.kind == "text" and not message.buttons():
                    return True
        return False

    def _act(self, latest: SentMessage) -> None:
        goal = self.goal
        if goal == CONSENT:
            for _label, data in labelled(latest, "consent:yes"):
                if self._once(("consent", latest.message_id)):
                    self._press(latest, data)
        elif goal == SESSION:
            for _label, data in labelled(latest, "ses:r:"):
                if self._once(("session", latest.message_id)):
                    self._press(latest, data)
        elif goal == SURVEY and labelled(latest, "svm:"):
            for _label, data in labelled(latest, f"svm:{self.plan.survey_id}"):
                if self._once(("survey-open", latest.message_id)):
                    self._press(latest, data)
        prompt = flow_values(latest)
        if prompt is None:
            return
        if goal == REPORT:
            self._report_step(latest, *prompt)
        elif goal == SURVEY:
            self._survey_step(latest, *prompt)

    def _report_step(self, message: SentMessage, version: int, values: dict[str, str]) -> None:
        plan = self.plan

        def press(step: str, value: str) -> None:
            if value in values and self._once((step, version)):
                self._press(message, values[value])

        if CATEGORY_CODES & set(values):
            press("category", plan.category)
        elif set(GOVERNORATES) & set(values):
            press("governorate", plan.governorate)
        elif "~done" in values:
            if not self.described:
                self.described = True
                self._send(self.description)
            else:
                press("description-done", "~done")
        elif "~skip" in values:
            press("area", "~skip")
        elif plan.urgency in values:
            press("urgency", plan.urgency)
        elif "anonymous" in values:
            press("contact", "anonymous")
        elif "submit" in values and self._once(("submit", version)):
            self.submitted = True
            self._press(message, values["submit"])

    def _survey_step(self, message: SentMessage, version: int, values: dict[str, str]) -> None:
        if "~submit" in values:
            if self._once(("survey-submit", version)):
                self._press(message, values["~submit"])
            return
        form = self.plan.survey_form
        assert form is not None
        shown = [
            q
            for q in form.questions
            if str(escape(q.labels.get(self.language, ""))) in message.content
        ]
        if not shown:
            return
        question = max(shown, key=lambda q: len(q.labels.get(self.language, "")))
        answer = self.plan.survey_answers.get(question.name, Answer("skip"))
        key = (question.name, version)
        if answer.kind == "type":
            if self._once(key):
                self._send(answer.text)
        elif answer.kind in ("skip", "next", "choose"):
            value = {"skip": "~skip", "next": "~next"}.get(answer.kind) or answer.values[0]
            if value in values and self._once(key):
                self._press(message, values[value])
        elif answer.kind == "multi" and question.type is QuestionType.SELECT_MULTIPLE:
            selected = {
                data.split(":", 2)[2] for label, data in message.buttons() if label[:1] == "✅"
            }
            missing = [v for v in answer.values if v not in selected]
            if missing:
                if self._once((question.name, version, missing[0])):
                    self._press(message, values[missing[0]])
            elif self._once((question.name, version, "~done")):
                self._press(message, values["~done"])


class Crowd:
    """Many members driven by one polling loop."""

    def __init__(self, members: Sequence[Member], *, patience: float = 5.0) -> None:
        self.members = list(members)
        self.patience = patience
        self.started = 0.0
        self.elapsed = 0.0

    async def run(self, timeout: float) -> None:
        self.started = time.monotonic()
        for member in self.members:
            member.last_activity = time.monotonic()
            member.open_goal()
        deadline = self.started + timeout
        while True:
            pending = [m for m in self.members if not m.finished]
            if not pending:
                break
            for member in pending:
                member.poll(self.patience)
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(pending)}/{len(self.members)} members unfinished after {timeout} s; "
                    f"e.g. member {pending[0].user_id} at goal {pending[0].goal}"
                )
            await asyncio.sleep(0.02)
        self.elapsed = time.monotonic() - self.started

    @property
    def finished(self) -> bool:
        return all(member.finished for member in self.members)

    @property
    def inputs(self) -> int:
        return sum(len(m.pushed_at) for m in self.members)

    @property
    def reopens(self) -> int:
        return sum(m.reopens for m in self.members)


def reply_latencies(api: FakeBotApi, members: Sequence[Member]) -> list[float]:
    """Seconds from each input pushed to the first reply in that chat (fake server's log)."""
    replies: dict[int, list[float]] = {}
    for call in api.calls:
        if call.method in REPLY_METHODS and call.ok:
            chat = call.params.get("chat_id")
            if chat is not None:
                replies.setdefault(int(chat), []).append(call.at)
    latencies = []
    for member in members:
        times = sorted(replies.get(member.user.chat_id, []))
        index = 0
        for pushed in member.pushed_at:
            while index < len(times) and times[index] < pushed:
                index += 1
            if index < len(times):
                latencies.append(times[index] - pushed)
    return latencies
