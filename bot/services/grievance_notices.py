"""Messages about grievances that are not direct replies, all through the outbox (SPEC §2):
staff cards for new reports, staff alerts for additions and appeals, and the member's
notifications of staff replies and status changes.

Cards never carry what the member wrote (description, area, contact details) or who they
are: outbox rows are kept after sending, so only metadata goes in them. Staff open the
content with the card's button, which answers directly and is audited.

Where cards go: `MODERATOR_CHAT_ID` if set, else each moderator privately. A safeguarding
case shows only reference, category and urgency there; safeguarding staff also receive the
full card privately (SPEC §4.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.services.field_encryption import FieldCipher
from bot.services.grievance_directory import category
from bot.services.grievances import reporter_of
from bot.services.members import stored_language
from bot.services.outbox import PRIORITY_SERVICE, PRIORITY_STAFF, Button, queue_text
from bot.services.roles import Role, users_with_role
from messages import Catalogue
from storage.database import UnitOfWork
from storage.models import Grievance, GrievanceEntry, Member, OutboxMessage

CASE_BUTTON_PREFIX = "gr:case:"
SOURCE = "grievances"


@dataclass(frozen=True)
class StaffTarget:
    chat_id: int
    full: bool  # may see more than reference, category and urgency
    language: str


@dataclass(frozen=True)
class CardMessage:
    chat_id: int
    message_id: int | None  # None until the sender has delivered it


async def staff_targets(
    uow: UnitOfWork, moderator_chat_id: int | None, safeguarding: bool, default_language: str
) -> list[StaffTarget]:
    safeguarders = set(await users_with_role(uow, Role.SAFEGUARDING))

    async def private(user_id: int) -> StaffTarget:
        language = await stored_language(uow, user_id) or default_language
        return StaffTarget(user_id, not safeguarding or user_id in safeguarders, language)

    if moderator_chat_id is not None:
        targets = [StaffTarget(moderator_chat_id, not safeguarding, default_language)]
        if safeguarding:
            targets += [await private(user_id) for user_id in sorted(safeguarders)]
        return targets
    return [await private(user_id) for user_id in await users_with_role(uow, Role.MODERATOR)]


def _label(catalogue: Catalogue, language: str, key: str) -> str:
    return catalogue.plain(language, key)


def card_text(
    catalogue: Catalogue, grievance: Grievance, target: StaffTarget, **extra: Any
) -> str:
    language = target.language
    known = category(grievance.category)
    common = {
        "reference": grievance.reference,
        "category_label": known.labels.get(language, known.code),
        "urgency_label": _label(catalogue, language, f"grievances.urgency.{grievance.urgency}"),
        "urgent": grievance.urgency == "urgent" or bool(grievance.risk_flags),
    }
    if not target.full:
        return catalogue.render(language, "grievances.card.restricted", **common)
    kinds = [item["kind"] for item in grievance.media]
    return catalogue.render(
        language,
        "grievances.card.full",
        **common,
        governorate_label=_label(catalogue, language, f"governorate.{grievance.governorate}"),
        flags_label=", ".join(
            _label(catalogue, language, f"grievances.risk.{flag}") for flag in grievance.risk_flags
        ),
        voices=kinds.count("voice"),
        photos=kinds.count("photo"),
        has_area=grievance.area is not None,
        ack_due_at=grievance.ack_due_at,
        **extra,
    )


def case_button(catalogue: Catalogue, language: str, reference: str) -> list[list[Button]]:
    label = catalogue.plain(language, "grievances.card.open_button")
    return [[Button(label, f"{CASE_BUTTON_PREFIX}{reference}")]]


async def queue_staff_cards(
    uow: UnitOfWork,
    grievance_id: int,
    now: datetime,
    *,
    catalogue: Catalogue,
    moderator_chat_id: int | None,
    default_language: str,
) -> int:
    """Queue the new-report card to every staff target; returns how many were queued."""
    grievance = await uow.session.get(Grievance, grievance_id)
    assert grievance is not None
    reporter = await reporter_of(uow, grievance_id)
    contactable = reporter is not None and reporter.contactable
    targets = await staff_targets(uow, moderator_chat_id, grievance.safeguarding, default_language)
    urgent = grievance.urgency == "urgent" or bool(grievance.risk_flags)
    for target in targets:
        await queue_text(
            uow,
            chat_id=target.chat_id,
            text=card_text(catalogue, grievance, target, contactable=contactable),
            buttons=case_button(catalogue, target.language, grievance.reference),
            now=now,
            priority=PRIORITY_STAFF if urgent else PRIORITY_SERVICE,
            dedupe_key=f"{grievance.card_dedupe_key}:{target.chat_id}",
            source=SOURCE,
        )
    return len(targets)


async def card_messages(uow: UnitOfWork, reference: str) -> list[CardMessage]:
    """Where the cards of a case were sent (for editing them in place)."""
    grievance = await uow.session.scalar(select(Grievance).where(Grievance.reference == reference))
    if grievance is None or grievance.card_dedupe_key is None:
        return []
    rows = await uow.session.execute(
        select(OutboxMessage.chat_id, OutboxMessage.sent_message_id).where(
            OutboxMessage.dedupe_key.startswith(f"{grievance.card_dedupe_key}:")
        )
    )
    return [CardMessage(chat_id, message_id) for chat_id, message_id in rows.tuples()]


async def queue_staff_alert(
    uow: UnitOfWork,
    grievance_id: int,
    kind: str,
    now: datetime,
    *,
    catalogue: Catalogue,
    moderator_chat_id: int | None,
    default_language: str,
    dedupe_suffix: str,
) -> None:
    """Tell staff the member added information (`addition`) or appealed (`appeal`)."""
    grievance = await uow.session.get(Grievance, grievance_id)
    assert grievance is not None
    targets = await staff_targets(uow, moderator_chat_id, grievance.safeguarding, default_language)
    for target in targets:
        await queue_text(
            uow,
            chat_id=target.chat_id,
            text=catalogue.render(
                target.language, f"grievances.card.{kind}", reference=grievance.reference
            ),
            buttons=case_button(catalogue, target.language, grievance.reference),
            now=now,
            priority=PRIORITY_STAFF,
            dedupe_key=f"grievance-{kind}:{dedupe_suffix}:{target.chat_id}",
            source=SOURCE,
        )


async def notify_member(
    uow: UnitOfWork,
    entry_id: int,
    now: datetime,
    *,
    catalogue: Catalogue,
    cipher: FieldCipher,
    default_language: str,
) -> bool:
    """Queue the member's notification of a staff reply or status change, in their language."""
    entry = await uow.session.get(GrievanceEntry, entry_id)
    if entry is None:
        return False
    grievance = await uow.session.get(Grievance, entry.grievance_id)
    reporter = await reporter_of(uow, entry.grievance_id)
    if grievance is None or reporter is None:
        return False  # unlinked since (erasure or retention): nobody to tell
    member_language = await uow.session.scalar(
        select(Member.language).where(Member.user_id == reporter.user_id)
    )
    language = member_language or reporter.language or default_language
    text = cipher.open_optional(entry.text) or ""
    if entry.kind == "reply":
        rendered = catalogue.render(
            language, "grievances.notify.reply", reference=grievance.reference, text=text
        )
    else:
        rendered = catalogue.render(
            language,
            "grievances.notify.status",
            reference=grievance.reference,
            status_label=_label(
                catalogue,
                language,
                f"grievances.status.{entry.details.get('to', grievance.status)}",
            ),
            reason=text,
        )
    return await queue_text(
        uow,
        chat_id=reporter.user_id,
        text=rendered,
        now=now,
        priority=PRIORITY_SERVICE,
        dedupe_key=f"grievance-notify:{entry_id}",
        source=SOURCE,
    )
