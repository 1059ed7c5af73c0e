"""What a staff card shows of a case's current state, and its action buttons (SPEC §4.1).

Card buttons carry the case version they were drawn for (`gr:act:VERB:REF:VERSION`), so a
button pressed on a card that is out of date is recognised and refused with the current
state instead of acting on what the moderator no longer sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.engines.outbox import Button
from messages import Catalogue
from storage.models import Grievance

ACTION_PREFIX = "gr:act:"
PRIORITY_PREFIX = "gr:pri:"
STATUS_PREFIX = "gr:st:"
PROMPT_CANCEL = "mp:cancel"
ACTIONS = ("assign", "ack", "pri", "st", "note", "reply", "esc", "close")
# Statuses a button may set directly; closing and rejecting need a reason (/close, /reject).
BUTTON_STATUSES = ("acknowledged", "in_review", "escalated", "resolved")


@dataclass(frozen=True)
class CardPress:
    """Parsed callback data of a card button."""

    verb: str
    reference: str
    version: int
    value: str = ""


def parse_press(data: str) -> CardPress | None:
    """`gr:act:VERB:REF:V`, `gr:pri:N:REF:V`, `gr:st:STATUS:REF:V`; None for anything else."""
    parts = data.split(":")
    if len(parts) != 5 or parts[0] != "gr" or not parts[4].isdigit() or len(parts[4]) > 9:
        return None
    kind, value, reference, version = parts[1], parts[2], parts[3], int(parts[4])
    if kind == "act" and value in ACTIONS:
        return CardPress(value, reference, version)
    if kind == "pri" and value in ("0", "1", "2", "3"):
        return CardPress("set_priority", reference, version, value)
    if kind == "st" and value in BUTTON_STATUSES:
        return CardPress("set_status", reference, version, value)
    return None


FINISHED = ("closed", "rejected")  # no action is left on the card but opening it
ESCALATABLE = ("new", "acknowledged", "in_review")
STYLES = ("compact", "restricted", "full")


def shown_name(catalogue: Catalogue, language: str, name: str | None, assigned: bool) -> str:
    """A staff member as colleagues see them: their name, "a colleague", or "" (nobody)."""
    if not assigned:
        return ""
    return name or catalogue.plain(language, "moderation.desk.unnamed")


def age_label(catalogue: Catalogue, language: str, since: datetime, now: datetime) -> str:
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return catalogue.plain(language, "moderation.desk.age_minutes", count=minutes)
    if minutes < 48 * 60:
        return catalogue.plain(language, "moderation.desk.age_hours", count=minutes // 60)
    return catalogue.plain(language, "moderation.desk.age_days", count=minutes // (24 * 60))


def state_block(
    catalogue: Catalogue,
    language: str,
    grievance: Grievance,
    now: datetime,
    main_reference: str | None = None,
    assignee_name: str | None = None,
) -> str:
    return catalogue.render(
        language,
        "moderation.card.state",
        status_label=catalogue.plain(language, f"grievances.status.{grievance.status}"),
        priority_label=catalogue.plain(language, f"moderation.priority.p{grievance.priority}"),
        assignee=shown_name(catalogue, language, assignee_name, grievance.assignee_id is not None),
        main_reference=main_reference or "",
        overdue=(
            grievance.status == "new"
            and grievance.acknowledged_at is None
            and grievance.ack_due_at < now
        ),
        updated_at=grievance.updated_at,
    )


def compact_text(
    catalogue: Catalogue,
    language: str,
    grievance: Grievance,
    now: datetime,
    category_label: str,
    assignee_name: str | None,
    *,
    restricted: bool = False,
) -> str:
    """One short message for an ordinary case (reference, topic, place, urgency, age)."""
    return catalogue.render(
        language,
        "moderation.desk.compact",
        reference=grievance.reference,
        status=grievance.status,
        status_label=catalogue.plain(language, f"grievances.status.{grievance.status}"),
        category_label=category_label,
        governorate_label=(
            catalogue.plain(language, "moderation.desk.restricted")
            if restricted
            else catalogue.plain(language, f"governorate.{grievance.governorate}")
        ),
        urgency_label=catalogue.plain(language, f"grievances.urgency.{grievance.urgency}"),
        age=age_label(catalogue, language, grievance.created_at, now),
        assignee=shown_name(catalogue, language, assignee_name, grievance.assignee_id is not None),
    )


def _button(
    catalogue: Catalogue, language: str, verb: str, reference: str, version: int
) -> Button:
    key = "moderation.desk.close" if verb == "close" else f"moderation.button.{verb}"
    return Button(catalogue.plain(language, key), f"{ACTION_PREFIX}{verb}:{reference}:{version}")


def compact_buttons(
    catalogue: Catalogue, language: str, grievance: Grievance, open_button: Button
) -> list[list[Button]]:
    """At most three: open it, take it (while nobody has), acknowledge it (while new)."""
    row = [Button(catalogue.plain(language, "moderation.desk.open"), open_button.callback_data)]
    if grievance.status not in FINISHED and grievance.assignee_id is None:
        row.append(
            Button(
                catalogue.plain(language, "moderation.desk.take"),
                f"{ACTION_PREFIX}assign:{grievance.reference}:{grievance.version}",
            )
        )
    if grievance.status == "new":
        row.append(_button(catalogue, language, "ack", grievance.reference, grievance.version))
    return [row]


def action_buttons(
    catalogue: Catalogue,
    language: str,
    reference: str,
    version: int,
    open_row: list[Button],
    status: str = "new",
) -> list[list[Button]]:
    """The actions that make sense in `status` (a finished case keeps only "open")."""

    def button(verb: str) -> Button:
        return _button(catalogue, language, verb, reference, version)

    if status in FINISHED:
        return [open_row]
    first = [button("assign")] + ([button("ack")] if status == "new" else [])
    last = [button("note"), button("reply")] + ([button("esc")] if status in ESCALATABLE else [])
    return [open_row, first, [button("pri"), button("st"), button("close")], last]


def priority_buttons(
    catalogue: Catalogue, language: str, reference: str, version: int
) -> list[list[Button]]:
    return [
        [
            Button(
                catalogue.plain(language, f"moderation.priority.p{level}"),
                f"{PRIORITY_PREFIX}{level}:{reference}:{version}",
            )
            for level in (0, 1)
        ],
        [
            Button(
                catalogue.plain(language, f"moderation.priority.p{level}"),
                f"{PRIORITY_PREFIX}{level}:{reference}:{version}",
            )
            for level in (2, 3)
        ],
    ]


def status_buttons(
    catalogue: Catalogue, language: str, reference: str, version: int, allowed: tuple[str, ...]
) -> list[list[Button]]:
    choices = [status for status in BUTTON_STATUSES if status in allowed]
    return [
        [
            Button(
                catalogue.plain(language, f"grievances.status.{status}"),
                f"{STATUS_PREFIX}{status}:{reference}:{version}",
            )
        ]
        for status in choices
    ]
