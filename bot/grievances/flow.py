"""The /report conversation and the follow-up collectors, on the flow engine (SPEC §3.4).

/report: category → governorate → area (optional) → description (text, voice notes, photos,
as many messages as needed, then Done; long texts Telegram split are joined) → urgency →
anonymous (the default, offered first) or contactable (+ optional contact details) → summary
to submit, edit a field, or cancel. Every answer is stored by the engine at once, and what
the member wrote is sealed (`field_encryption`) even in the draft.

/addinfo and appeals use `FollowUpFlow`: messages until Done, then stored on the case.
`MemberAnswerFlow` holds what a member sent in answer to staff (a Telegram reply to a relayed
message, or text while a case awaits them) until they confirm it goes on the case, with one
tap; cancelling keeps nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.engines.field_encryption import FieldCipher
from bot.engines.flows import (
    DONE,
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
from bot.grievances.cases import URGENCIES
from bot.grievances.directory import categories, category, referrals_for
from bot.grievances.followup import add_to_report
from bot.grievances.lexicon import RiskLexicon
from bot.grievances.notices import queue_staff_alert, queue_staff_cards
from bot.grievances.phone import forget_button_data
from bot.grievances.policy import GrievancePolicy
from bot.grievances.submission import ReportDraft, file_report
from bot.members.demographics import GOVERNORATES, governorate_key
from messages import LANGUAGES, Catalogue
from storage.database import UnitOfWork

REPORT_FLOW = "grievances.report"
ADDITION_FLOW = "grievances.addition"
APPEAL_FLOW = "grievances.appeal"
ANSWER_FLOW = "grievances.answer"
ATTACH = "attach"
MAX_DESCRIPTION_CHARACTERS = 20_000
MAX_MEDIA = 20
MAX_AREA_CHARACTERS = 200
MAX_CONTACT_CHARACTERS = 200
ACCEPTED_MEDIA = ("voice", "photo")
EDITABLE = ("category", "governorate", "area", "description", "urgency", "contact")
_NEXT = {
    "category": "governorate",
    "governorate": "area",
    "area": "description",
    "description": "urgency",
    "urgency": "contact",
    "contact": "confirm",
    "contact_details": "confirm",
}


@dataclass(frozen=True)
class GrievanceDesk:
    """What the grievance feature needs from the composition root."""

    catalogue: Catalogue
    cipher: FieldCipher
    policy: GrievancePolicy
    lexicon: RiskLexicon
    moderator_chat_id: int | None
    default_language: str

    def labels(self, key: str) -> dict[str, str]:
        return {language: self.catalogue.plain(language, key) for language in LANGUAGES}


def _collect(
    parts: list[dict[str, str]], given: FlowInput, cipher: FieldCipher
) -> list[dict[str, str]] | Text:
    """`parts` plus the member's message, or the notice saying why it was not taken."""
    collected = list(parts)
    if given.media is not None:
        if given.media.kind not in ACCEPTED_MEDIA:
            return Text("grievances.media_not_supported")
        if sum(1 for part in parts if "m" in part) >= MAX_MEDIA:
            return Text("grievances.too_many_media", {"limit": MAX_MEDIA})
        collected.append({"m": given.media.kind, "f": given.media.file_id})
    text = (given.text or "").strip()
    if text:
        used = sum(len(cipher.open(part["t"])) for part in parts if "t" in part)
        if used + len(text) > MAX_DESCRIPTION_CHARACTERS:
            return Text("grievances.description_too_long", {"limit": MAX_DESCRIPTION_CHARACTERS})
        collected.append({"t": cipher.seal(text)})
    elif given.media is None:
        return Text("grievances.description_empty_message")
    return collected


def _joined_text(parts: list[dict[str, str]], cipher: FieldCipher) -> str:
    # Telegram splits a long text into several messages; they are one description again.
    return "\n".join(cipher.open(part["t"]) for part in parts if "t" in part)


def _media(parts: list[dict[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple((part["m"], part["f"]) for part in parts if "m" in part)


def _counts(parts: list[dict[str, str]]) -> dict[str, int]:
    kinds = [part.get("m") for part in parts]
    return {
        "texts": sum(1 for part in parts if "t" in part),
        "voices": kinds.count("voice"),
        "photos": kinds.count("photo"),
    }


class ReportFlow:
    name = REPORT_FLOW

    def __init__(self, desk: GrievanceDesk) -> None:
        self.desk = desk

    def first_step(self, data: dict[str, Any]) -> str:
        return "category"

    def prompt(self, step: str, data: dict[str, Any]) -> Prompt:
        parts: list[dict[str, str]] = data.get("parts", [])
        if step == "category":
            return Prompt(
                Text("grievances.ask.category"),
                choices=tuple(Choice(c.code, labels=c.labels) for c in categories()),
            )
        if step == "governorate":
            return Prompt(
                Text("grievances.ask.governorate"),
                choices=tuple(Choice(g, label_key=governorate_key(g)) for g in GOVERNORATES),
                columns=3,
                can_go_back=True,
            )
        if step == "area":
            return Prompt(Text("grievances.ask.area"), can_skip=True, can_go_back=True)
        if step == "description":
            key = "grievances.ask.description_more" if parts else "grievances.ask.description"
            return Prompt(Text(key, _counts(parts)), can_go_back=True, can_finish=True)
        if step == "urgency":
            return Prompt(
                Text("grievances.ask.urgency"),
                choices=tuple(Choice(u, label_key=f"grievances.urgency.{u}") for u in URGENCIES),
                can_go_back=True,
            )
        if step == "contact":
            return Prompt(
                Text("grievances.ask.contact"),
                choices=(
                    Choice("anonymous", label_key="grievances.contact.anonymous"),
                    Choice("contactable", label_key="grievances.contact.contactable"),
                ),
                can_go_back=True,
            )
        if step == "contact_details":
            return Prompt(Text("grievances.ask.contact_details"), can_skip=True, can_go_back=True)
        if step == "edit":
            return Prompt(
                Text("grievances.ask.edit"),
                choices=tuple(Choice(f, label_key=f"grievances.field.{f}") for f in EDITABLE),
                columns=2,
                can_go_back=True,
            )
        return Prompt(
            self._summary(data),
            choices=(
                Choice("submit", label_key="grievances.confirm.submit"),
                Choice("edit", label_key="grievances.confirm.edit"),
            ),
        )

    def _summary(self, data: dict[str, Any]) -> Text:
        """Topic, place, urgency and how many parts were given: never the description or
        the contact details, which would otherwise stay in the chat on the member's phone."""
        cipher, parts = self.desk.cipher, data.get("parts", [])
        return Text(
            "grievances.summary",
            {
                "category": category(data.get("category", "other")).labels,
                "governorate": self.desk.labels(governorate_key(data.get("governorate", ""))),
                "area": cipher.open_optional(data.get("area")) or "",
                "urgency": self.desk.labels(f"grievances.urgency.{data.get('urgency', 'low')}"),
                "contactable": bool(data.get("contactable")),
                "has_contact": bool(data.get("contact")),
                **_counts(parts),
            },
        )

    def _next(self, step: str, data: dict[str, Any], **changes: Any) -> Next:
        updated = {**data, **changes}
        target = _NEXT[step]
        if updated.get("_editing") and not (step == "contact" and target == "contact_details"):
            target = "confirm"
        if target == "confirm":
            updated.pop("_editing", None)
            updated.pop("_previous_parts", None)
        return Next(target, updated)

    def accept(self, step: str, data: dict[str, Any], given: FlowInput) -> StepResult:
        cipher = self.desk.cipher
        if step in ("category", "governorate", "urgency"):
            if given.choice is None:
                return Invalid(Text("flow.use_buttons"))
            return self._next(step, data, **{step: given.choice})
        if step == "area":
            if given.choice == SKIP:
                return self._next(step, data, area=None)
            text = (given.text or "").strip()
            if given.media is not None or not text:
                return Invalid(Text("grievances.area_text_only"))
            return self._next(step, data, area=cipher.seal(text[:MAX_AREA_CHARACTERS]))
        if step == "description":
            parts: list[dict[str, str]] = data.get("parts", [])
            if given.choice == DONE:
                if not parts and data.get("_previous_parts"):
                    parts = data["_previous_parts"]  # editing, and nothing new was sent
                if not parts:
                    return Invalid(Text("grievances.description_empty"))
                return self._next(step, data, parts=parts)
            collected = _collect(parts, given, cipher)
            if isinstance(collected, Text):
                return Invalid(collected)
            return Next("description", {**data, "parts": collected})
        if step == "contact":
            if given.choice == "contactable":
                return Next("contact_details", {**data, "contactable": True})
            if given.choice == "anonymous":
                return self._next(step, data, contactable=False, contact=None)
            return Invalid(Text("flow.use_buttons"))
        if step == "contact_details":
            if given.choice == SKIP:
                return self._next(step, data, contact=None)
            text = (given.text or "").strip()
            if given.media is not None or not text:
                return Invalid(Text("grievances.contact_text_only"))
            return self._next(step, data, contact=cipher.seal(text[:MAX_CONTACT_CHARACTERS]))
        if step == "edit":
            if given.choice not in EDITABLE:
                return Invalid(Text("flow.use_buttons"))
            changes: dict[str, Any] = {"_editing": True}
            if given.choice == "description":
                changes.update(parts=[], _previous_parts=data.get("parts", []))
            return Next(str(given.choice), {**data, **changes})
        if given.choice == "submit":
            return Finished(data)
        if given.choice == "edit":
            return Next("edit", data)
        return Invalid(Text("flow.use_buttons"))

    async def finish(
        self, uow: UnitOfWork, user_id: int, data: dict[str, Any], now: datetime
    ) -> Completion:
        desk, cipher = self.desk, self.desk.cipher
        parts = data.get("parts", [])
        draft = ReportDraft(
            category=data["category"],
            governorate=data["governorate"],
            area=cipher.open_optional(data.get("area")),
            description=_joined_text(parts, cipher),
            media=_media(parts),
            urgency=data["urgency"],
            contactable=bool(data.get("contactable")),
            contact_details=cipher.open_optional(data.get("contact")),
            language=str(data.get("language") or desk.default_language),
        )
        filed = await file_report(
            uow, user_id, draft, now, policy=desk.policy, cipher=cipher, lexicon=desk.lexicon
        )
        await queue_staff_cards(
            uow,
            filed.grievance_id,
            now,
            catalogue=desk.catalogue,
            moderator_chat_id=desk.moderator_chat_id,
            default_language=desk.default_language,
        )
        follow_up = None
        if filed.needs_attention_now:
            topics = {*filed.risk_flags, filed.category}
            if filed.urgency == "urgent":
                topics.add("urgent")
            follow_up = Text(
                "grievances.referrals",
                {
                    "referrals": [
                        {"name": r.name, "contact": r.contact, "example": r.example}
                        for r in referrals_for(topics, desk.policy.referrals_file)
                    ]
                },
            )
        return Completion(
            Text(
                "grievances.submitted",
                {
                    "reference": filed.reference,
                    "ack_due_at": filed.ack_due_at,
                    "contactable": draft.contactable,
                    "flagged": filed.needs_attention_now,
                },
            ),
            follow_up=follow_up,
            buttons=self._forget_button(data),
        )

    def _forget_button(self, data: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        """ "Remove this conversation from my phone", when the flow's first message is known."""
        first = data.get("first_message")
        if not isinstance(first, int):
            return ()
        language = str(data.get("language") or self.desk.default_language)
        label = self.desk.catalogue.plain(language, "grievances.forget.button")
        return ((label, forget_button_data(first)),)


class FollowUpFlow:
    """Collects messages for an open report (`addition`) or an appeal of a closed one."""

    def __init__(self, desk: GrievanceDesk, kind: str) -> None:
        self.desk = desk
        self.kind = kind
        self.name = ADDITION_FLOW if kind == "addition" else APPEAL_FLOW

    def first_step(self, data: dict[str, Any]) -> str:
        return "collect"

    def prompt(self, step: str, data: dict[str, Any]) -> Prompt:
        parts = data.get("parts", [])
        key = f"grievances.ask.{self.kind}_more" if parts else f"grievances.ask.{self.kind}"
        return Prompt(
            Text(key, {"reference": data["reference"], **_counts(parts)}), can_finish=True
        )

    def accept(self, step: str, data: dict[str, Any], given: FlowInput) -> StepResult:
        parts: list[dict[str, str]] = data.get("parts", [])
        if given.choice == DONE:
            if not parts:
                return Invalid(Text("grievances.description_empty"))
            return Finished(data)
        collected = _collect(parts, given, self.desk.cipher)
        if isinstance(collected, Text):
            return Invalid(collected)
        return Next("collect", {**data, "parts": collected})

    async def finish(
        self, uow: UnitOfWork, user_id: int, data: dict[str, Any], now: datetime
    ) -> Completion:
        desk, parts = self.desk, data.get("parts", [])
        addition = await add_to_report(
            uow,
            user_id,
            data["reference"],
            _joined_text(parts, desk.cipher) or None,
            [{"kind": kind, "file_id": file_id} for kind, file_id in _media(parts)],
            now,
            kind=self.kind,
            policy=desk.policy,
            cipher=desk.cipher,
            enforce=False,
        )
        await queue_staff_alert(
            uow,
            addition.grievance_id,
            self.kind,
            now,
            catalogue=desk.catalogue,
            moderator_chat_id=desk.moderator_chat_id,
            default_language=desk.default_language,
            dedupe_suffix=f"{addition.reference}:{now.timestamp()}",
        )
        return Completion(Text(f"grievances.{self.kind}_saved", {"reference": addition.reference}))


class MemberAnswerFlow:
    """What the member sent to a case outside a conversation, held (sealed) until they
    confirm it is for that case. More messages sent meanwhile join it."""

    name = ANSWER_FLOW

    def __init__(self, desk: GrievanceDesk) -> None:
        self.desk = desk

    def first_step(self, data: dict[str, Any]) -> str:
        return "confirm"

    def prompt(self, step: str, data: dict[str, Any]) -> Prompt:
        parts = data.get("parts", [])
        return Prompt(
            Text("grievances.ask.answer", {"reference": data["reference"], **_counts(parts)}),
            choices=(Choice(ATTACH, label_key="grievances.answer_attach"),),
        )

    def accept(self, step: str, data: dict[str, Any], given: FlowInput) -> StepResult:
        parts: list[dict[str, str]] = data.get("parts", [])
        if given.choice == ATTACH:
            if not parts:
                return Invalid(Text("grievances.description_empty"))
            return Finished(data)
        if given.choice is not None:
            return Invalid(Text("flow.use_buttons"))
        collected = _collect(parts, given, self.desk.cipher)
        if isinstance(collected, Text):
            return Invalid(collected)
        return Next("confirm", {**data, "parts": collected})

    async def finish(
        self, uow: UnitOfWork, user_id: int, data: dict[str, Any], now: datetime
    ) -> Completion:
        return await FollowUpFlow(self.desk, "addition").finish(uow, user_id, data, now)
