"""Messages about grievances that are not direct replies, all through the outbox (SPEC §2):
staff cards for new reports, staff alerts for additions and appeals, and the member's
notifications of staff replies and status changes.

Cards never carry what the member wrote (description, area, contact details) or who they
are: outbox rows are kept after sending, so only metadata goes in them. Staff open the
content with the card's button, which answers directly and is audited.

Cards show the case's live state (status, priority, assignee) with action buttons, and
`refresh_cards` edits them in place through the outbox (editMessageText, using the message
id the sender recorded on the card's outbox row) whenever the case changes. A staff reply to
a card or to a note/reply prompt is traced back to its case by `card_reference_at`.

Where cards go: `MODERATOR_CHAT_ID` if set, else each moderator privately. A safeguarding
case shows only reference, category and urgency there; safeguarding staff also receive the
full card privately (SPEC §4.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.engines.field_encryption import FieldCipher
from bot.engines.outbox import (
    PRIORITY_SERVICE,
    PRIORITY_STAFF,
    Button,
    keyboard,
    queue_edit,
    queue_text,
)
from bot.engines.roles import Role, users_with_role
from bot.engines.tasks import schedule_task
from bot.grievances.cases import FINAL_STATUSES, reporter_of
from bot.grievances.directory import category
from bot.members.records import stored_language
from bot.moderation.cards import action_buttons, state_block
from messages import Catalogue
from storage import outbox
from storage.database import UnitOfWork
from storage.models import Grievance, GrievanceEntry, Member, OutboxMessage

CASE_BUTTON_PREFIX = "gr:case:"
SOURCE = "grievances"
ACK_NUDGE_TASK = "moderation.ack_nudge"
CARD_REFRESH_TASK = "moderation.card_refresh"
CARD_REFRESH_DELAY = timedelta(seconds=3)
CARD_EDIT_PREFIX = "moderation-card-edit:"
PROMPT_PREFIX = "moderation-prompt:"


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
        flags_label=catalogue.list_separator(language).join(
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
        text, buttons = current_card(catalogue, grievance, target, now, contactable=contactable)
        await queue_text(
            uow,
            chat_id=target.chat_id,
            text=text,
            buttons=buttons,
            now=now,
            priority=PRIORITY_STAFF if urgent else PRIORITY_SERVICE,
            dedupe_key=f"{grievance.card_dedupe_key}:{target.chat_id}",
            source=SOURCE,
        )
    await schedule_task(
        uow,
        kind=ACK_NUDGE_TASK,
        payload={"grievance_id": grievance.id, "round": 0},
        due_at=grievance.ack_due_at,
        now=now,
        dedupe_key=f"moderation-nudge:{grievance.reference}:0",
    )
    return len(targets)


def current_card(
    catalogue: Catalogue,
    grievance: Grievance,
    target: StaffTarget,
    now: datetime,
    *,
    contactable: bool,
    main_reference: str | None = None,
) -> tuple[str, list[list[Button]]]:
    """The card as `target` may see it now: text (with the live state) and buttons."""
    open_row = case_button(catalogue, target.language, grievance.reference)[0]
    if not target.full:
        return card_text(catalogue, grievance, target), [open_row]
    text = "\n\n".join(
        [
            card_text(catalogue, grievance, target, contactable=contactable),
            state_block(catalogue, target.language, grievance, now, main_reference),
        ]
    )
    buttons = action_buttons(
        catalogue, target.language, grievance.reference, grievance.version, open_row
    )
    return text, buttons


async def _card_rows(
    uow: UnitOfWork, grievance: Grievance, chats: set[int]
) -> list[OutboxMessage]:
    keys = [f"{grievance.card_dedupe_key}:{chat_id}" for chat_id in sorted(chats)]
    if grievance.card_dedupe_key is None or not keys:
        return []
    rows = await uow.session.scalars(
        select(OutboxMessage).where(OutboxMessage.dedupe_key.in_(keys))
    )
    return list(rows)


async def refresh_cards(
    uow: UnitOfWork,
    grievance: Grievance,
    now: datetime,
    *,
    catalogue: Catalogue,
    moderator_chat_id: int | None,
    default_language: str,
) -> int:
    """Make every card of the case show its current state: a card not sent yet is rewritten,
    a sent one is edited in place (editMessageText through the outbox). Returns how many."""
    targets = {
        t.chat_id: t
        for t in await staff_targets(
            uow, moderator_chat_id, grievance.safeguarding, default_language
        )
    }
    chats = set(targets) | set(await users_with_role(uow, Role.MODERATOR))
    if moderator_chat_id is not None:
        chats.add(moderator_chat_id)
    reporter = await reporter_of(uow, grievance.id)
    contactable = reporter is not None and reporter.contactable
    main_reference = None
    if grievance.main_case_id is not None:
        main_reference = await uow.session.scalar(
            select(Grievance.reference).where(Grievance.id == grievance.main_case_id)
        )
    refreshed = 0
    for row in await _card_rows(uow, grievance, chats):
        target = targets.get(row.chat_id) or StaffTarget(row.chat_id, False, default_language)
        text, buttons = current_card(
            catalogue,
            grievance,
            target,
            now,
            contactable=contactable,
            main_reference=main_reference,
        )
        if row.status == outbox.PENDING:
            row.payload = {**row.payload, "text": text, "reply_markup": keyboard(buttons)}
        elif row.sent_message_id is not None:
            await queue_edit(
                uow,
                chat_id=row.chat_id,
                message_id=row.sent_message_id,
                text=text,
                buttons=buttons,
                now=now,
                dedupe_key=(
                    f"{CARD_EDIT_PREFIX}{grievance.reference}:{grievance.version}:{row.chat_id}"
                ),
            )
        else:
            # Being sent right now: its message id is not known yet, so look again shortly.
            await schedule_task(
                uow,
                kind=CARD_REFRESH_TASK,
                payload={"grievance_id": grievance.id},
                due_at=now + CARD_REFRESH_DELAY,
                now=now,
                dedupe_key=f"{CARD_REFRESH_TASK}:{grievance.reference}:{grievance.version}",
            )
            continue
        refreshed += 1
    return refreshed


async def queue_prompt(
    uow: UnitOfWork,
    *,
    chat_id: int,
    kind: str,
    reference: str,
    text: str,
    cancel_label: str,
    now: datetime,
    nonce: str,
) -> bool:
    """Ask a staff member for the text of a note or reply: they answer by replying to it."""
    return await queue_text(
        uow,
        chat_id=chat_id,
        text=text,
        buttons=[[Button(cancel_label, "mp:cancel")]],
        now=now,
        priority=PRIORITY_STAFF,
        dedupe_key=f"{PROMPT_PREFIX}{kind}:{reference}:{nonce}"[:200],
    )


@dataclass(frozen=True)
class CardReference:
    kind: str  # "reply" (a card, or a reply prompt) or "note" (a note prompt)
    reference: str


async def card_reference_at(
    uow: UnitOfWork, chat_id: int, message_id: int
) -> CardReference | None:
    """Which case (and what for) the bot's message `message_id` in `chat_id` is about."""
    keys = await uow.session.scalars(
        select(OutboxMessage.dedupe_key).where(
            OutboxMessage.chat_id == chat_id, OutboxMessage.sent_message_id == message_id
        )
    )
    for key in keys:
        if key is None:
            continue
        if key.startswith(PROMPT_PREFIX):
            kind, _, rest = key.removeprefix(PROMPT_PREFIX).partition(":")
            return CardReference(kind, rest.split(":")[0])
        for prefix in ("grievance-card:", CARD_EDIT_PREFIX):
            if key.startswith(prefix):
                return CardReference("reply", key.removeprefix(prefix).split(":")[0])
    return None


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
    appeal_days: int = 30,
) -> bool:
    """Queue the member's notification of a staff reply or status change, in their language.

    A report that reaches a final status (resolved, closed, rejected) is told the reason and
    how long it may be appealed with /appeal."""
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
        status = str(entry.details.get("to", grievance.status))
        rendered = catalogue.render(
            language,
            "grievances.notify.finished"
            if status in FINAL_STATUSES
            else "grievances.notify.status",
            reference=grievance.reference,
            status=status,
            status_label=_label(catalogue, language, f"grievances.status.{status}"),
            reason=text,
            appeal_days=appeal_days,
        )
    payload: dict[str, Any] = {"text": rendered, "parse_mode": "HTML"}
    if entry.kind == "reply" and entry.actor_id is not None:
        payload["on_failure"] = await _failure_notice(
            uow, catalogue, grievance.reference, entry.actor_id, default_language
        )
    return await outbox.enqueue(
        uow.session,
        chat_id=reporter.user_id,
        method="sendMessage",
        payload=payload,
        now=now,
        priority=PRIORITY_SERVICE,
        dedupe_key=f"grievance-notify:{entry_id}",
        source=SOURCE,
    )


async def _failure_notice(
    uow: UnitOfWork, catalogue: Catalogue, reference: str, actor_id: int, default_language: str
) -> dict[str, Any]:
    """Told to the staff member who replied if the member cannot receive it (blocked bot)."""
    language = await stored_language(uow, actor_id) or default_language
    text = catalogue.render(
        language, "moderation.reply_not_delivered", reference=reference, actor=actor_id
    )
    return {"chat_id": actor_id, "text": text}
