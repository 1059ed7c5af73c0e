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
ACTIONS = ("assign", "ack", "pri", "st", "note", "reply", "esc")
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


def state_block(
    catalogue: Catalogue,
    language: str,
    grievance: Grievance,
    now: datetime,
    main_reference: str | None = None,
) -> str:
    return catalogue.render(
        language,
        "moderation.card.state",
        status_label=catalogue.plain(language, f"grievances.status.{grievance.status}"),
        priority_label=catalogue.plain(language, f"moderation.priority.p{grievance.priority}"),
        assignee=grievance.assignee_id or 0,
        main_reference=main_reference or "",
        overdue=(
            grievance.status == "new"
            and grievance.acknowledged_at is None
            and grievance.ack_due_at < now
        ),
        updated_at=grievance.updated_at,
    )


def action_buttons(
    catalogue: Catalogue, language: str, reference: str, version: int, open_row: list[Button]
) -> list[list[Button]]:
    def button(verb: str) -> Button:
        label = catalogue.plain(language, f"moderation.button.{verb}")
        return Button(label, f"{ACTION_PREFIX}{verb}:{reference}:{version}")

    return [
        open_row,
        [button("assign"), button("ack")],
        [button("pri"), button("st")],
        [button("note"), button("reply"), button("esc")],
    ]


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
