"""The organisers' conversations on the flow engine: /newsession walks every field with
validation and a preview before publishing; the edit flow changes time or place.

Titles, descriptions and the venue are asked in Arabic and in English; either language may be
skipped (not both), and readers of the skipped language read the other. From the preview,
"edit a field" walks just that field's questions and comes back to the preview.

Both flows check the organiser role again when they finish, so a role revoked half-way
stops the change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.engines.flows import (
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
from bot.engines.roles import Role, may_act, roles_of
from bot.engines.share_links import SESSION, StartLink
from bot.members.demographics import GOVERNORATES, governorate_key
from bot.sessions.lifecycle import SessionCancelled, SessionChanged, SessionNotFound
from bot.sessions.organiser_input import (
    DEFAULT_REMINDER_MINUTES,
    MAX_DESCRIPTION,
    MAX_TITLE,
    MAX_VENUE,
    InvalidSessionInput,
    SessionDraft,
    check_start,
    parse_capacity,
    parse_end,
    parse_local_datetime,
    parse_reminders,
    parse_reserved,
    parse_text,
)
from bot.sessions.organising import change_time_or_place, create_session
from messages import Catalogue
from storage.database import UnitOfWork

NEW_FLOW = "sessions.new"
EDIT_FLOW = "sessions.edit"
TEXT_LIMITS = {
    "title_ar": MAX_TITLE,
    "title_en": MAX_TITLE,
    "description_ar": MAX_DESCRIPTION,
    "description_en": MAX_DESCRIPTION,
    "venue": MAX_VENUE,
    "venue_en": MAX_VENUE,
}
NEW_STEPS = (
    "title_ar",
    "title_en",
    "description_ar",
    "description_en",
    "governorate",
    "venue",
    "venue_en",
    "starts_at",
    "ends_at",
    "capacity",
    "reserved_women",
    "reserved_youth",
    "reminders",
    "preview",
)
OPTIONAL = frozenset({"reserved_women", "reserved_youth", "reminders"})
# Each text in one language may be skipped if its other language is (or will be) given.
OTHER_LANGUAGE = {
    "title_ar": "title_en",
    "title_en": "title_ar",
    "description_ar": "description_en",
    "description_en": "description_ar",
    "venue": "venue_en",
    "venue_en": "venue",
}
FIRST_LANGUAGE = frozenset({"title_ar", "description_ar", "venue"})
# The fields "edit a field" offers from the preview, and the questions each one walks.
FIELDS: dict[str, tuple[str, ...]] = {
    "title": ("title_ar", "title_en"),
    "description": ("description_ar", "description_en"),
    "governorate": ("governorate",),
    "venue": ("venue", "venue_en"),
    "time": ("starts_at", "ends_at"),
    "seats": ("capacity", "reserved_women", "reserved_youth"),
    "reminders": ("reminders",),
}
EDITING = "_editing"
QUESTIONS = len(NEW_STEPS) - 1


def invalid(error: InvalidSessionInput) -> Invalid:
    return Invalid(Text(f"sessions.invalid.{error.reason}"))


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _either(data: dict[str, Any], step: str) -> str:
    """The text of `step`, or its other language's when `step` was skipped."""
    return str(data.get(step) or data.get(OTHER_LANGUAGE[step]) or "")


def draft_of(data: dict[str, Any]) -> SessionDraft:
    return SessionDraft(
        title_ar=_either(data, "title_ar"),
        title_en=_either(data, "title_en"),
        description_ar=_either(data, "description_ar"),
        description_en=_either(data, "description_en"),
        governorate=data["governorate"],
        venue=_either(data, "venue"),
        venue_en=data.get("venue_en") if data.get("venue") else None,
        starts_at=_moment(data["starts_at"]),
        ends_at=_moment(data["ends_at"]),
        capacity=int(data["capacity"]),
        reserved_women=int(data.get("reserved_women", 0)),
        reserved_youth=int(data.get("reserved_youth", 0)),
        reminder_minutes=tuple(data.get("reminders", DEFAULT_REMINDER_MINUTES)),
    )


def preview_variables(data: dict[str, Any], catalogue: Catalogue) -> dict[str, Any]:
    draft = draft_of(data)
    key = governorate_key(draft.governorate)
    return {
        "title_ar": draft.title_ar,
        "title_en": draft.title_en,
        "description_ar": draft.description_ar,
        "description_en": draft.description_en,
        "skipped_ar": not data.get("title_ar") or not data.get("description_ar"),
        "skipped_en": not data.get("title_en") or not data.get("description_en"),
        "governorate_ar": catalogue.plain("ar", key),
        "governorate_en": catalogue.plain("en", key),
        "venue": draft.venue,
        "venue_en": draft.venue_en or "",
        "starts_at": draft.starts_at,
        "ends_at": draft.ends_at,
        "capacity": draft.capacity,
        "reserved_women": draft.reserved_women,
        "reserved_youth": draft.reserved_youth,
        "reminders": [m // 60 for m in draft.reminder_minutes],
    }


async def is_organiser(uow: UnitOfWork, user_id: int) -> bool:
    return may_act(await roles_of(uow, user_id), {Role.ORGANISER})


class NewSessionFlow:
    name = NEW_FLOW

    def __init__(self, timezone: ZoneInfo, now: Callable[[], datetime], catalogue: Catalogue):
        self.timezone = timezone
        self.now = now
        self.catalogue = catalogue

    def first_step(self, data: dict[str, Any]) -> str:
        return NEW_STEPS[0]

    def prompt(self, step: str, data: dict[str, Any]) -> Prompt:
        back = step != NEW_STEPS[0] or EDITING in data
        if step == "edit_field":
            return Prompt(
                Text("sessions.new.ask_field"),
                choices=tuple(Choice(f, label_key=f"sessions.new.field.{f}") for f in FIELDS),
                columns=2,
                can_go_back=True,
            )
        if step == "governorate":
            return Prompt(
                Text("sessions.new.ask_governorate", self._position(step)),
                choices=tuple(Choice(g, label_key=governorate_key(g)) for g in GOVERNORATES),
                columns=2,
                can_go_back=True,
            )
        if step == "preview":
            return Prompt(
                Text("sessions.new.preview", preview_variables(data, self.catalogue)),
                choices=(
                    Choice("publish", label_key="sessions.new.publish"),
                    Choice("draft", label_key="sessions.new.save_draft"),
                    Choice("edit", label_key="sessions.new.edit_field"),
                ),
                columns=2,
                can_go_back=True,
            )
        skippable = (
            step in OPTIONAL
            or step in FIRST_LANGUAGE
            or bool(data.get(OTHER_LANGUAGE.get(step, "")))
        )
        return Prompt(
            Text(f"sessions.new.ask_{step}", self._position(step)),
            can_go_back=back,
            can_skip=skippable,
        )

    @staticmethod
    def _position(step: str) -> dict[str, int]:
        return {"step": NEW_STEPS.index(step) + 1, "total": QUESTIONS}

    @staticmethod
    def _following(step: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The next question, or back to the preview at the end of a field being edited."""
        editing = data.get(EDITING)
        if isinstance(editing, str) and FIELDS.get(editing, ("",))[-1] == step:
            return "preview", {k: v for k, v in data.items() if k != EDITING}
        return NEW_STEPS[NEW_STEPS.index(step) + 1], data

    def accept(self, step: str, data: dict[str, Any], given: FlowInput) -> StepResult:
        if step == "preview":
            if given.choice == "edit":
                return Next("edit_field", data)
            try:
                check_start(_moment(data["starts_at"]), self.now())
            except InvalidSessionInput as error:
                return Next("starts_at", data, notice=Text(f"sessions.invalid.{error.reason}"))
            if given.choice not in ("publish", "draft"):
                return Invalid(Text("flow.use_buttons"))
            return Finished({**data, "publish": given.choice == "publish"})
        if step == "edit_field":
            if given.choice not in FIELDS:
                return Invalid(Text("flow.use_buttons"))
            return Next(FIELDS[given.choice][0], {**data, EDITING: given.choice})
        following, data = self._following(step, data)
        if step == "governorate":
            if given.choice not in GOVERNORATES:
                return Invalid(Text("flow.use_buttons"))
            return Next(following, {**data, "governorate": given.choice})
        if given.media is not None:
            return Invalid(Text("sessions.invalid.text_only"))
        if given.choice == SKIP and step in OPTIONAL:
            default: Any = list(DEFAULT_REMINDER_MINUTES) if step == "reminders" else 0
            return Next(following, {**data, step: default})
        if given.choice == SKIP and step in OTHER_LANGUAGE:
            if step not in FIRST_LANGUAGE and not data.get(OTHER_LANGUAGE[step]):
                return Invalid(Text("sessions.invalid.one_language"))
            return Next(following, {**data, step: None})
        text = given.text or ""
        try:
            value: Any
            if step in TEXT_LIMITS:
                value = parse_text(text, TEXT_LIMITS[step])
            elif step == "starts_at":
                starts_at = parse_local_datetime(text, self.timezone)
                check_start(starts_at, self.now())
                value = starts_at.isoformat()
            elif step == "ends_at":
                value = parse_end(text, _moment(data["starts_at"]), self.timezone).isoformat()
            elif step == "capacity":
                value = parse_capacity(text)
            elif step == "reserved_women":
                value = parse_reserved(text, int(data["capacity"]))
            elif step == "reserved_youth":
                value = parse_reserved(text, int(data["capacity"]) - int(data["reserved_women"]))
            else:
                value = list(parse_reminders(text))
        except InvalidSessionInput as error:
            return invalid(error)
        return Next(following, {**data, step: value})

    async def finish(
        self, uow: UnitOfWork, user_id: int, data: dict[str, Any], now: datetime
    ) -> Completion:
        if not await is_organiser(uow, user_id):
            return Completion(Text("sessions.admin.not_allowed"))
        publish = bool(data["publish"])
        try:
            view = await create_session(
                uow, draft_of(data), actor_id=user_id, publish=publish, now=now
            )
        except InvalidSessionInput as error:
            return Completion(Text(f"sessions.invalid.{error.reason}"))
        key = "sessions.new.published" if publish else "sessions.new.saved_draft"
        link = StartLink(f"{SESSION}{view.id}")
        return Completion(Text(key, {"session_id": view.id, "title": view.title_ar, "link": link}))


class EditSessionFlow:
    """Change the start, the end or the venue; registrants are told of the change."""

    name = EDIT_FLOW
    steps = ("starts_at", "ends_at", "venue", "confirm")

    def __init__(self, timezone: ZoneInfo, now: Callable[[], datetime], catalogue: Catalogue):
        self.timezone = timezone
        self.now = now
        self.catalogue = catalogue

    def first_step(self, data: dict[str, Any]) -> str:
        return "starts_at"

    def prompt(self, step: str, data: dict[str, Any]) -> Prompt:
        if step == "confirm":
            changes = {
                "starts_at": _moment(data.get("new_starts_at") or data["starts_at"]),
                "ends_at": _moment(data.get("new_ends_at") or data["ends_at"]),
                "venue": data.get("new_venue") or data["venue"],
                "title": data["title"],
            }
            return Prompt(
                Text("sessions.edit.confirm", changes),
                choices=(Choice("save", label_key="sessions.edit.save"),),
                can_go_back=True,
            )
        return Prompt(
            Text(f"sessions.edit.ask_{step}", {"current": data[step]} if step == "venue" else {}),
            can_go_back=step != "starts_at",
            can_skip=True,
        )

    def accept(self, step: str, data: dict[str, Any], given: FlowInput) -> StepResult:
        following = self.steps[self.steps.index(step) + 1] if step != "confirm" else "confirm"
        if step == "confirm":
            if given.choice != "save":
                return Invalid(Text("flow.use_buttons"))
            return Finished(data)
        if given.choice == SKIP:
            return Next(following, {**data, f"new_{step}": None})
        if given.media is not None:
            return Invalid(Text("sessions.invalid.text_only"))
        text = given.text or ""
        try:
            if step == "starts_at":
                starts_at = parse_local_datetime(text, self.timezone)
                check_start(starts_at, self.now())
                value = starts_at.isoformat()
            elif step == "ends_at":
                start = _moment(data.get("new_starts_at") or data["starts_at"])
                value = parse_end(text, start, self.timezone).isoformat()
            else:
                value = parse_text(text, MAX_VENUE)
        except InvalidSessionInput as error:
            return invalid(error)
        return Next(following, {**data, f"new_{step}": value})

    async def finish(
        self, uow: UnitOfWork, user_id: int, data: dict[str, Any], now: datetime
    ) -> Completion:
        if not await is_organiser(uow, user_id):
            return Completion(Text("sessions.admin.not_allowed"))
        try:
            outcome = await change_time_or_place(
                uow,
                self.catalogue,
                int(data["session_id"]),
                expected_version=int(data["version"]),
                starts_at=_moment(data["new_starts_at"]) if data.get("new_starts_at") else None,
                ends_at=_moment(data["new_ends_at"]) if data.get("new_ends_at") else None,
                venue=data.get("new_venue"),
                actor_id=user_id,
                now=now,
            )
        except SessionChanged:
            return Completion(Text("sessions.admin.changed_meanwhile"))
        except (SessionCancelled, SessionNotFound):
            return Completion(Text("sessions.admin.already_cancelled"))
        except InvalidSessionInput as error:
            return Completion(Text(f"sessions.invalid.{error.reason}"))
        return Completion(
            Text("sessions.edit.saved", {"session_id": outcome.view.id, "told": outcome.told})
        )
