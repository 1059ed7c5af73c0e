"""/broadcast on the flow engine: the texts, an optional photo or file, the audience and when.

The flow ends with a draft: the organiser then gets a preview in each language, exactly as
members will see it, and a card with the audience count to confirm or discard (both sent
through the outbox, after the flow's own reply).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.broadcasts.audience import (
    Audience,
    AudienceDescription,
    count_audience,
    describe_audience,
)
from bot.broadcasts.delivery import member_message
from bot.broadcasts.lifecycle import BroadcastDraft, create_draft
from bot.engines.flows import (
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
from bot.engines.numbers import parse_integer
from bot.engines.outbox import PRIORITY_STAFF, Button, queue_text
from bot.engines.roles import Role, may_act, roles_of
from bot.members.demographics import GOVERNORATES, governorate_key
from bot.sessions.organiser_input import InvalidSessionInput, parse_local_datetime
from messages import Catalogue
from storage import outbox
from storage.database import UnitOfWork

FLOW = "broadcasts.new"
MAX_TEXT = 3500  # leaves room for the footer within Telegram's 4,096 characters
MAX_CAPTION = 900  # the same within a caption's 1,024
MAX_AHEAD = timedelta(days=366)
LANGUAGES = ("ar", "en")
FILTER_STEPS = {
    "gov": "governorates",
    "lang": "audience_language",
    "session": "session_id",
    "survey": "survey_id",
}
AUDIENCE_KEYS = ("governorates", "language_filter", "session_id", "survey_id")
CONFIRM_PREFIX = "bc:go:"
DISCARD_PREFIX = "bc:drop:"


def audience_of(data: dict[str, Any]) -> Audience:
    return Audience.from_dict(
        {
            "governorates": data.get("governorates") or None,
            "language": data.get("language_filter"),
            "session_id": data.get("session_id"),
            "survey_id": data.get("survey_id"),
        }
    )


def describe_filters(catalogue: Catalogue, language: str, description: AudienceDescription) -> str:
    """The audience as plain lines in the organiser's language."""

    def line(key: str, **variables: Any) -> str:
        return catalogue.plain(language, f"broadcasts.audience.{key}", **variables)

    lines = []
    if description.governorates:
        names = catalogue.list_separator(language).join(
            catalogue.plain(language, governorate_key(g)) for g in description.governorates
        )
        lines.append(line("governorates", names=names))
    if description.language is not None:
        reads = catalogue.plain(language, f"broadcasts.language.{description.language}")
        lines.append(line("language", language=reads))
    if description.session_id is not None:
        lines.append(
            line(
                "session",
                session_id=description.session_id,
                title=description.session_title or "",
            )
        )
    if description.survey_id is not None:
        lines.append(
            line("survey", survey_id=description.survey_id, title=description.survey_title or "")
        )
    return "\n".join(lines) if lines else line("everyone")


def _untitled(audience: Audience) -> AudienceDescription:
    filters = audience.filters
    return AudienceDescription(
        governorates=tuple(filters.get("governorates", ())),
        language=filters.get("language"),
        session_id=filters.get("session_id"),
        session_title=None,
        survey_id=filters.get("survey_id"),
        survey_title=None,
    )


class NewBroadcastFlow:
    name = FLOW

    def __init__(
        self,
        timezone: ZoneInfo,
        now: Callable[[], datetime],
        catalogue: Catalogue,
        default_language: str,
    ) -> None:
        self.timezone = timezone
        self.now = now
        self.catalogue = catalogue
        self.default_language = default_language

    def first_step(self, data: dict[str, Any]) -> str:
        return "text_ar"

    def prompt(self, step: str, data: dict[str, Any]) -> Prompt:
        language = str(data.get("language", self.default_language))
        if step == "audience":
            summary = describe_filters(self.catalogue, language, _untitled(audience_of(data)))
            choices = [
                Choice(value, label_key=f"broadcasts.flow.filter_{value}")
                for value in FILTER_STEPS
            ]
            if any(data.get(key) for key in AUDIENCE_KEYS):
                choices.append(Choice("clear", label_key="broadcasts.flow.filter_clear"))
            choices.append(Choice("continue", label_key="broadcasts.flow.audience_continue"))
            return Prompt(
                Text("broadcasts.flow.ask_audience", {"audience": summary}),
                choices=tuple(choices),
                columns=2,
                can_go_back=True,
            )
        if step == "governorates":
            return Prompt(
                Text("broadcasts.flow.ask_governorates"),
                choices=tuple(Choice(g, label_key=governorate_key(g)) for g in GOVERNORATES),
                columns=2,
                multi=True,
                selected=frozenset(data.get(SELECTED, {}).get(step, [])),
                can_go_back=True,
            )
        if step == "audience_language":
            return Prompt(
                Text("broadcasts.flow.ask_language"),
                choices=tuple(Choice(c, label_key=f"broadcasts.language.{c}") for c in LANGUAGES),
                columns=2,
                can_go_back=True,
            )
        if step == "timing":
            return Prompt(
                Text("broadcasts.flow.ask_timing"),
                choices=(
                    Choice("now", label_key="broadcasts.flow.send_now"),
                    Choice("later", label_key="broadcasts.flow.send_later"),
                ),
                columns=2,
                can_go_back=True,
            )
        optional = step in ("text_ar", "text_en", "media")
        return Prompt(
            Text(
                f"broadcasts.flow.ask_{step}",
                {"limit": MAX_TEXT, "caption_limit": MAX_CAPTION, "timezone": str(self.timezone)},
            ),
            can_go_back=step != "text_ar",
            can_skip=optional,
        )

    def accept(self, step: str, data: dict[str, Any], given: FlowInput) -> StepResult:
        if step in ("text_ar", "text_en"):
            return self._accept_text(step, data, given)
        if step == "media":
            return self._accept_media(data, given)
        if step == "audience":
            if given.choice == "continue":
                return Next("timing", data)
            if given.choice == "clear":
                cleared = {k: v for k, v in data.items() if k not in AUDIENCE_KEYS}
                cleared[SELECTED] = {}
                return Next("audience", cleared)
            if given.choice in FILTER_STEPS:
                return Next(FILTER_STEPS[given.choice], data)
            return Invalid(Text("flow.use_buttons"))
        if step == "governorates":
            if given.choices is None:
                return Invalid(Text("flow.use_buttons"))
            chosen = [g for g in GOVERNORATES if g in given.choices]
            return Next("audience", {**data, "governorates": chosen})
        if step == "audience_language":
            if given.choice not in LANGUAGES:
                return Invalid(Text("flow.use_buttons"))
            return Next("audience", {**data, "language_filter": given.choice})
        if step in ("session_id", "survey_id"):
            number = parse_integer((given.text or "").strip().removeprefix("#"))
            if number is None or not 0 < number < 10**12:
                return Invalid(Text("broadcasts.invalid.not_an_id"))
            return Next("audience", {**data, step: number})
        if step == "timing":
            if given.choice == "now":
                return Finished({**data, "send_at": None})
            if given.choice == "later":
                return Next("send_at", data)
            return Invalid(Text("flow.use_buttons"))
        return self._accept_send_at(data, given)

    def _accept_text(self, step: str, data: dict[str, Any], given: FlowInput) -> StepResult:
        following = "text_en" if step == "text_ar" else "media"
        if given.choice == SKIP:
            if step == "text_en" and not data.get("text_ar"):
                return Invalid(Text("broadcasts.invalid.no_text"))
            return Next(following, {**data, step: None})
        if given.media is not None or given.text is None:
            return Invalid(Text("broadcasts.invalid.text_expected"))
        text = given.text.strip()
        if not text:
            return Invalid(Text("broadcasts.invalid.text_expected"))
        limit = MAX_CAPTION if data.get("media") else MAX_TEXT
        if len(text) > limit:
            return Invalid(Text("broadcasts.invalid.too_long", {"limit": limit}))
        return Next(following, {**data, step: text})

    def _accept_media(self, data: dict[str, Any], given: FlowInput) -> StepResult:
        if given.choice == SKIP:
            return Next("audience", {**data, "media": None})
        if given.media is None:
            return Invalid(Text("broadcasts.invalid.media_expected"))
        if given.media.kind not in ("photo", "document"):
            return Invalid(Text("broadcasts.invalid.media_kind"))
        longest = max(len(data.get("text_ar") or ""), len(data.get("text_en") or ""))
        if longest > MAX_CAPTION:
            return Invalid(Text("broadcasts.invalid.caption_too_long", {"limit": MAX_CAPTION}))
        media = {"kind": given.media.kind, "file_id": given.media.file_id}
        return Next("audience", {**data, "media": media})

    def _accept_send_at(self, data: dict[str, Any], given: FlowInput) -> StepResult:
        try:
            moment = parse_local_datetime(given.text or "", self.timezone)
        except InvalidSessionInput:
            return Invalid(Text("broadcasts.invalid.send_at_format"))
        now = self.now()
        if moment <= now:
            return Invalid(Text("broadcasts.invalid.send_at_past"))
        if moment > now + MAX_AHEAD:
            return Invalid(Text("broadcasts.invalid.send_at_too_far"))
        return Finished({**data, "send_at": moment.isoformat()})

    async def finish(
        self, uow: UnitOfWork, user_id: int, data: dict[str, Any], now: datetime
    ) -> Completion:
        if not may_act(await roles_of(uow, user_id), {Role.ORGANISER}):
            return Completion(Text("broadcasts.errors.not_allowed"))
        language = str(data.get("language", self.default_language))
        media = data.get("media") or {}
        send_at = data.get("send_at")
        audience = audience_of(data)
        view = await create_draft(
            uow,
            BroadcastDraft(
                text_ar=data.get("text_ar"),
                text_en=data.get("text_en"),
                media_kind=media.get("kind"),
                media_file_id=media.get("file_id"),
                audience=audience,
                send_at=datetime.fromisoformat(send_at) if send_at else None,
            ),
            actor_id=user_id,
            language=language,
            now=now,
        )
        counted = await count_audience(uow, audience, self.default_language)
        for code in LANGUAGES:
            method, payload = member_message(self.catalogue, view, code)
            await outbox.enqueue(
                uow.session,
                chat_id=user_id,
                method=method,
                payload=payload,
                now=now,
                priority=PRIORITY_STAFF,
                dedupe_key=f"broadcast:{view.id}:preview:{code}",
            )
        description = await describe_audience(uow, audience, language)
        card = self.catalogue.render(
            language,
            "broadcasts.card.confirm" if counted.total else "broadcasts.card.nobody",
            broadcast_id=view.id,
            audience=describe_filters(self.catalogue, language, description),
            total=counted.total,
            send_at=view.send_at,
        )
        discard = Button(
            self.catalogue.plain(language, "broadcasts.buttons.discard"),
            f"{DISCARD_PREFIX}{view.id}",
        )
        buttons = [[discard]]
        if counted.total:
            go = "broadcasts.buttons.schedule" if view.send_at else "broadcasts.buttons.send"
            confirm = Button(self.catalogue.plain(language, go), f"{CONFIRM_PREFIX}{view.id}")
            buttons.insert(0, [confirm])
        await queue_text(
            uow,
            chat_id=user_id,
            text=card,
            now=now,
            buttons=buttons,
            priority=PRIORITY_STAFF,
            dedupe_key=f"broadcast:{view.id}:card",
        )
        return Completion(
            Text(
                "broadcasts.flow.draft_ready",
                {
                    "broadcast_id": view.id,
                    "total": counted.total,
                    "ar": counted.by_language["ar"],
                    "en": counted.by_language["en"],
                },
            )
        )
