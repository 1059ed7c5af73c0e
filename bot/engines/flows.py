"""The flow engine: multi-step conversations whose position and answers live in the database.

A flow is data plus three functions: which step comes first, what to ask at a step, and what
an answer at that step means. The engine stores the step and the answers after every input,
so a restart, or another instance taking the next update, continues where the member was
(SPEC §2). Buttons carry the version of the state they were shown for; a button from an
earlier question is recognised as stale and changes nothing.

Controls understood by every flow: `back` (previous question), `skip` (optional question),
`done` (finish a multi-select or a multi-message answer).

No dead keyboards: the engine knows which Telegram message showed the current question
(noted on the flow when that message's delivery is recorded, `storage.flows.PromptShown`),
and every reply says which question it leaves behind
(`FlowReply.previous`), so the handler can take that question's buttons away and, for an
answer given with a button, write the answer under it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from storage import flows as flow_store
from storage.database import UnitOfWork

HISTORY = "_history"
SELECTED = "_selected"
PROMPT_MESSAGE = "_prompt_message"  # where flows saved before migration 0042 noted it
CONTROL_PREFIX = "~"
BACK = "~back"
SKIP = "~skip"
DONE = "~done"


@dataclass(frozen=True)
class Text:
    """A message by catalogue key, with its variables."""

    key: str
    variables: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Choice:
    """A button. Its label is a catalogue key, or literal text per language (survey labels)."""

    value: str
    label_key: str | None = None
    labels: dict[str, str] | None = None


@dataclass(frozen=True)
class Prompt:
    text: Text
    choices: tuple[Choice, ...] = ()
    columns: int = 1
    multi: bool = False
    selected: frozenset[str] = frozenset()
    can_go_back: bool = False
    can_skip: bool = False
    can_finish: bool = False
    request_location: bool = False  # offer a "send my location" keyboard button


@dataclass(frozen=True)
class Media:
    kind: str  # voice, photo, document, video, audio
    file_id: str


@dataclass(frozen=True)
class FlowInput:
    text: str | None = None
    choice: str | None = None
    choices: tuple[str, ...] | None = None
    media: Media | None = None
    location: tuple[float, float] | None = None


@dataclass(frozen=True)
class Next:
    step: str
    data: dict[str, Any]
    notice: Text | None = None


@dataclass(frozen=True)
class Invalid:
    notice: Text


@dataclass(frozen=True)
class Finished:
    data: dict[str, Any]


StepResult = Next | Invalid | Finished


@dataclass(frozen=True)
class Completion:
    """What the member is told when a flow ends, and optional files to send with it."""

    text: Text
    documents: tuple[tuple[str, bytes], ...] = ()
    photo: bytes | None = None
    follow_up: Text | None = None
    # Buttons on the completion message, one per row: (label, callback data).
    buttons: tuple[tuple[str, str], ...] = ()


class Flow(Protocol):
    name: str

    def first_step(self, data: dict[str, Any]) -> str: ...

    def prompt(self, step: str, data: dict[str, Any]) -> Prompt: ...

    def accept(self, step: str, data: dict[str, Any], given: FlowInput) -> StepResult: ...

    async def finish(
        self, uow: UnitOfWork, user_id: int, data: dict[str, Any], now: datetime
    ) -> Completion: ...


async def _prepare(flow: Flow, uow: UnitOfWork, data: dict[str, Any]) -> None:
    """Let a flow load what its steps need but its data does not carry (optional method
    `prepare(uow, data)`: the survey flow loads the form definition once per survey)."""
    prepare = getattr(flow, "prepare", None)
    if prepare is not None:
        await prepare(uow, data)


class FlowRegistry:
    def __init__(self, flows: Iterable[Flow] = ()) -> None:
        self._flows: dict[str, Flow] = {}
        for flow in flows:
            self.add(flow)

    def add(self, flow: Flow) -> None:
        if flow.name in self._flows:
            raise ValueError(f"flow {flow.name!r} registered twice")
        self._flows[flow.name] = flow

    def get(self, name: str) -> Flow | None:
        return self._flows.get(name)

    def names(self) -> list[str]:
        return sorted(self._flows)


@dataclass(frozen=True)
class Answered:
    """The question a reply leaves behind: its message loses its buttons.

    `prompt` and `given` are set when it was answered with a button (or skipped), so its
    message can show the answer; `message_id` is where it was shown, when the engine knows.
    """

    message_id: int | None = None
    prompt: Prompt | None = None
    given: FlowInput | None = None


@dataclass(frozen=True)
class FlowReply:
    """What the handler shows: an optional notice, then the current question or the end."""

    flow: str
    version: int
    prompt: Prompt | None = None
    notice: Text | None = None
    completion: Completion | None = None
    refresh_in_place: bool = False
    previous: Answered | None = None


class UnknownFlow(Exception):
    pass


def offered_values(prompt: Prompt) -> frozenset[str]:
    """The callback values the question's keyboard carries (see `flow_keyboard`)."""
    values = {choice.value for choice in prompt.choices}
    if prompt.can_go_back:
        values.add(BACK)
    if prompt.can_skip:
        values.add(SKIP)
    if prompt.multi or prompt.can_finish:
        values.add(DONE)
    return frozenset(values)


def public_data(data: dict[str, Any]) -> dict[str, Any]:
    """The answers without the engine's bookkeeping."""
    return {k: v for k, v in data.items() if not k.startswith("_")}


async def start_flow(
    uow: UnitOfWork,
    registry: FlowRegistry,
    user_id: int,
    name: str,
    now: datetime,
    data: dict[str, Any] | None = None,
) -> FlowReply:
    """Start (or restart) a flow for the member, replacing any flow in progress."""
    flow = registry.get(name)
    if flow is None:
        raise UnknownFlow(name)
    data = dict(data or {})
    data[HISTORY] = []
    await _prepare(flow, uow, data)
    step = flow.first_step(data)
    stored = await flow_store.save_flow(uow.session, user_id, name, step, data, now)
    return FlowReply(name, stored.version, prompt=flow.prompt(step, data))


async def active_flow_name(uow: UnitOfWork, user_id: int) -> str | None:
    stored = await flow_store.load_flow(uow.session, user_id)
    return None if stored is None else stored.flow


async def current_prompt(
    uow: UnitOfWork, registry: FlowRegistry, user_id: int
) -> FlowReply | None:
    stored = await flow_store.load_flow(uow.session, user_id)
    if stored is None:
        return None
    flow = registry.get(stored.flow)
    if flow is None:
        await flow_store.clear_flow(uow.session, user_id)
        return None
    await _prepare(flow, uow, stored.data)
    return FlowReply(
        stored.flow,
        stored.version,
        prompt=flow.prompt(stored.step, stored.data),
        previous=Answered(prompt_message(stored)),  # shown afresh below
    )


def prompt_message(stored: flow_store.StoredFlow) -> int | None:
    """The message that shows the flow's current question, if known."""
    if stored.prompt_message_id is not None:
        return stored.prompt_message_id
    shown = stored.data.get(PROMPT_MESSAGE)
    return shown if isinstance(shown, int) else None


def _by_button(given: FlowInput) -> bool:
    return given.choice is not None and given.choice not in (BACK, DONE)


async def cancel_flow(uow: UnitOfWork, user_id: int) -> str | None:
    """End the member's flow; returns the name of the flow that was cancelled, if any."""
    stored = await flow_store.load_flow(uow.session, user_id)
    if stored is None:
        return None
    await flow_store.clear_flow(uow.session, user_id)
    return stored.flow


async def handle_input(
    uow: UnitOfWork,
    registry: FlowRegistry,
    user_id: int,
    given: FlowInput,
    now: datetime,
    *,
    version: int | None = None,
) -> FlowReply | None:
    """Feed one input to the member's flow. None when the member has no flow in progress.

    `version` is given for button presses: a button of an earlier question is stale.
    """
    stored = await flow_store.load_flow(uow.session, user_id)
    if stored is None:
        return None
    flow = registry.get(stored.flow)
    if flow is None:
        await flow_store.clear_flow(uow.session, user_id)
        return None
    data = dict(stored.data)
    step = stored.step
    await _prepare(flow, uow, data)
    prompt = flow.prompt(step, data)
    left_behind = Answered(prompt_message(stored))

    if version is not None and version != stored.version:
        return FlowReply(
            stored.flow,
            stored.version,
            prompt=prompt,
            notice=Text("flow.stale_button"),
            previous=Answered(),  # the pressed message only: it belongs to an older question
        )
    if given.choice is not None and given.choice not in offered_values(prompt):
        # Only a value this question offered, in this version, is an answer: anything else
        # (a forged "~text", a control the question does not show) changes nothing.
        return FlowReply(
            stored.flow, stored.version, prompt=prompt, notice=Text("flow.stale_button")
        )

    if given.choice == BACK:
        history: list[str] = list(data.get(HISTORY, []))
        if not history:
            return FlowReply(stored.flow, stored.version, prompt=prompt, previous=left_behind)
        previous = history.pop()
        data[HISTORY] = history
        saved = await flow_store.save_flow(uow.session, user_id, stored.flow, previous, data, now)
        return FlowReply(
            stored.flow, saved.version, prompt=flow.prompt(previous, data), previous=left_behind
        )

    passes_through = (  # a flow's own control on a multi-select (e.g. turning a page)
        given.choice is not None
        and given.choice.startswith(CONTROL_PREFIX)
        and given.choice not in (SKIP, DONE)
        and given.choice in {choice.value for choice in prompt.choices}
    )
    if prompt.multi and given.choice is not None and given.choice != DONE and not passes_through:
        if given.choice == SKIP and prompt.can_skip:
            given = FlowInput(choices=())
        else:
            valid = {choice.value for choice in prompt.choices}
            if given.choice not in valid:
                return FlowReply(
                    stored.flow,
                    stored.version,
                    prompt=prompt,
                    notice=Text("flow.use_buttons"),
                    previous=left_behind,
                )
            selections: dict[str, list[str]] = dict(data.get(SELECTED, {}))
            current = list(selections.get(step, []))
            if given.choice in current:
                current.remove(given.choice)
            else:
                current.append(given.choice)
            selections[step] = current
            data[SELECTED] = selections
            saved = await flow_store.save_flow(uow.session, user_id, stored.flow, step, data, now)
            return FlowReply(
                stored.flow, saved.version, prompt=flow.prompt(step, data), refresh_in_place=True
            )
    elif prompt.multi and given.choice == DONE:
        chosen = tuple(data.get(SELECTED, {}).get(step, []))
        given = FlowInput(choices=chosen)

    unknown_button = (
        given.choice is not None
        and not given.choice.startswith(CONTROL_PREFIX)
        and given.choice not in {choice.value for choice in prompt.choices}
    )
    if unknown_button:
        return FlowReply(
            stored.flow,
            stored.version,
            prompt=prompt,
            notice=Text("flow.use_buttons"),
            previous=left_behind,
        )

    result = flow.accept(step, data, given)
    if isinstance(result, Invalid):
        return FlowReply(
            stored.flow, stored.version, prompt=prompt, notice=result.notice, previous=left_behind
        )
    answered = left_behind
    if _by_button(given) or given.choices is not None:
        answered = Answered(left_behind.message_id, prompt, given)
    if isinstance(result, Finished):
        completion = await flow.finish(uow, user_id, result.data, now)
        await flow_store.clear_flow(uow.session, user_id)
        return FlowReply(stored.flow, stored.version + 1, completion=completion, previous=answered)
    new_data = dict(result.data)
    if result.step != step:
        new_data[HISTORY] = [*list(data.get(HISTORY, [])), step]
    else:
        answered = left_behind  # the same question again: only its old buttons go
    saved = await flow_store.save_flow(
        uow.session, user_id, stored.flow, result.step, new_data, now
    )
    return FlowReply(
        stored.flow,
        saved.version,
        prompt=flow.prompt(result.step, new_data),
        notice=result.notice,
        previous=answered,
    )
