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

from sqlalchemy import delete, select

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
from bot.grievances.cases import CASE_LINK_PREFIX, FINAL_STATUSES, reporter_of
from bot.grievances.directory import category
from bot.members.records import stored_language
from bot.moderation.cards import (
    action_buttons,
    compact_buttons,
    compact_text,
    state_block,
)
from bot.moderation.staff_names import name_of
from messages import Catalogue
from storage import outbox
from storage.database import UnitOfWork
from storage.models import (
    CaseCardCopy,
    Grievance,
    GrievanceEntry,
    Member,
    OutboxMessage,
    StaffName,
)

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
        "urgent": is_urgent(grievance) and grievance.status not in FINAL_STATUSES,
        "status": grievance.status,
        "status_label": _label(catalogue, language, f"grievances.status.{grievance.status}"),
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
        acknowledged=grievance.acknowledged_at is not None,
        **extra,
    )


def is_urgent(grievance: Grievance) -> bool:
    """Urgent or risk-flagged: announced with the full card and a private alert."""
    return grievance.urgency == "urgent" or bool(grievance.risk_flags)


def case_button(catalogue: Catalogue, language: str, reference: str) -> list[list[Button]]:
    label = catalogue.plain(language, "grievances.card.open_button")
    return [[Button(label, f"{CASE_BUTTON_PREFIX}{reference}")]]


def style_for(grievance: Grievance, target: StaffTarget, moderator_chat_id: int | None) -> str:
    """How a new case is announced to `target`: in the staff group, compact unless urgent
    or restricted; a moderator's private chat (no group set) gets the full card."""
    if not target.full:
        return "restricted"
    if target.chat_id != moderator_chat_id or is_urgent(grievance):
        return "full"
    return "compact"


async def remember_copy(
    uow: UnitOfWork,
    grievance_id: int,
    chat_id: int,
    language: str,
    style: str,
    now: datetime,
    *,
    outbox_key: str | None = None,
    message_id: int | None = None,
    back: str | None = None,
) -> None:
    """Note where a copy of a case's card went, so that it is edited when the case changes."""
    outbox_id = None
    if outbox_key is not None:
        outbox_id = await uow.session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == outbox_key)
        )
        if outbox_id is None:
            return
        known = await uow.session.scalar(
            select(CaseCardCopy.id).where(CaseCardCopy.outbox_id == outbox_id).limit(1)
        )
        if known is not None:
            return
    if message_id is not None:
        await forget_copy(uow, chat_id, message_id)
    uow.session.add(
        CaseCardCopy(
            grievance_id=grievance_id,
            chat_id=chat_id,
            outbox_id=outbox_id,
            message_id=message_id,
            language=language,
            style=style,
            back=back,
            created_at=now,
        )
    )


async def forget_copy(uow: UnitOfWork, chat_id: int, message_id: int) -> None:
    """The message no longer shows a card (a queue message went back to the list)."""
    await uow.session.execute(
        delete(CaseCardCopy).where(
            CaseCardCopy.chat_id == chat_id, CaseCardCopy.message_id == message_id
        )
    )


async def queue_staff_cards(
    uow: UnitOfWork,
    grievance_id: int,
    now: datetime,
    *,
    catalogue: Catalogue,
    moderator_chat_id: int | None,
    default_language: str,
) -> int:
    """Announce a new case to every staff target; returns how many messages were queued.

    An ordinary case is one compact message; an urgent or risk-flagged one gets the full
    card, and the moderators on duty are also alerted privately (SPEC §4.1, issue 18)."""
    grievance = await uow.session.get(Grievance, grievance_id)
    assert grievance is not None
    reporter = await reporter_of(uow, grievance_id)
    contactable = reporter is not None and reporter.contactable
    targets = await staff_targets(uow, moderator_chat_id, grievance.safeguarding, default_language)
    urgent = is_urgent(grievance)
    for target in targets:
        style = style_for(grievance, target, moderator_chat_id)
        text, buttons = current_card(
            catalogue, grievance, target, now, contactable=contactable, style=style
        )
        key = f"{grievance.card_dedupe_key}:{target.chat_id}"
        await queue_text(
            uow,
            chat_id=target.chat_id,
            text=text,
            buttons=buttons,
            now=now,
            priority=PRIORITY_STAFF if urgent else PRIORITY_SERVICE,
            dedupe_key=key,
            source=SOURCE,
        )
        await remember_copy(
            uow, grievance.id, target.chat_id, target.language, style, now, outbox_key=key
        )
    queued = len(targets)
    if urgent and moderator_chat_id is not None and not grievance.safeguarding:
        queued += await _alert_on_duty(uow, grievance, catalogue, default_language, now)
    await schedule_task(
        uow,
        kind=ACK_NUDGE_TASK,
        payload={"grievance_id": grievance.id, "round": 0},
        due_at=grievance.ack_due_at,
        now=now,
        dedupe_key=f"moderation-nudge:{grievance.reference}:0",
    )
    return queued


async def moderators_on_duty(uow: UnitOfWork) -> list[int]:
    """Moderators who have not said they are off duty (/duty off)."""
    moderators = await users_with_role(uow, Role.MODERATOR)
    off = set(
        await uow.session.scalars(
            select(StaffName.user_id).where(
                StaffName.user_id.in_(moderators), StaffName.on_duty.is_(False)
            )
        )
    )
    return [user_id for user_id in moderators if user_id not in off]


async def _alert_on_duty(
    uow: UnitOfWork,
    grievance: Grievance,
    catalogue: Catalogue,
    default_language: str,
    now: datetime,
) -> int:
    sent = 0
    known = category(grievance.category)
    for user_id in await moderators_on_duty(uow):
        language = await stored_language(uow, user_id) or default_language
        await queue_text(
            uow,
            chat_id=user_id,
            text=catalogue.render(
                language,
                "moderation.desk.urgent_alert",
                reference=grievance.reference,
                category_label=known.labels.get(language, known.code),
                urgency_label=_label(
                    catalogue, language, f"grievances.urgency.{grievance.urgency}"
                ),
            ),
            buttons=case_button(catalogue, language, grievance.reference),
            now=now,
            priority=PRIORITY_STAFF,
            dedupe_key=f"grievance-urgent-alert:{grievance.reference}:{user_id}",
            source=SOURCE,
        )
        sent += 1
    return sent


def current_card(
    catalogue: Catalogue,
    grievance: Grievance,
    target: StaffTarget,
    now: datetime,
    *,
    contactable: bool,
    main_reference: str | None = None,
    assignee_name: str | None = None,
    style: str | None = None,
    back: Button | None = None,
) -> tuple[str, list[list[Button]]]:
    """The card as `target` may see it now, in `style` (default: full, or restricted when
    the target may not see more): text with the live state, and the buttons that apply."""
    language = target.language
    open_row = case_button(catalogue, language, grievance.reference)[0]
    back_rows = [[back]] if back is not None else []
    if not target.full or style == "restricted":
        restricted = StaffTarget(target.chat_id, False, language)
        return card_text(catalogue, grievance, restricted), [open_row, *back_rows]
    if style == "compact":
        known = category(grievance.category)
        text = compact_text(
            catalogue,
            language,
            grievance,
            now,
            known.labels.get(language, known.code),
            assignee_name,
        )
        return text, [*compact_buttons(catalogue, language, grievance, open_row[0]), *back_rows]
    text = "\n\n".join(
        [
            card_text(catalogue, grievance, target, contactable=contactable),
            state_block(catalogue, language, grievance, now, main_reference, assignee_name),
        ]
    )
    buttons = action_buttons(
        catalogue, language, grievance.reference, grievance.version, open_row, grievance.status
    )
    return text, [*buttons, *back_rows]


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
    """Make every copy of the case's card show its current state: a copy not sent yet is
    rewritten, a sent one is edited in place (editMessageText through the outbox).
    Returns how many copies were refreshed."""
    safeguarders = set(await users_with_role(uow, Role.SAFEGUARDING))
    reporter = await reporter_of(uow, grievance.id)
    contactable = reporter is not None and reporter.contactable
    main_reference = None
    if grievance.main_case_id is not None:
        main_reference = await uow.session.scalar(
            select(Grievance.reference).where(Grievance.id == grievance.main_case_id)
        )
    assignee_name = await name_of(uow, grievance.assignee_id)
    copies = list(
        await uow.session.scalars(
            select(CaseCardCopy)
            .where(CaseCardCopy.grievance_id == grievance.id)
            .order_by(CaseCardCopy.id)
        )
    )
    if not copies:
        return await _refresh_legacy(
            uow, grievance, now, catalogue, moderator_chat_id, default_language
        )
    refreshed = 0
    for copy in copies:
        full = copy.style != "restricted" and (
            not grievance.safeguarding or copy.chat_id in safeguarders
        )
        back = (
            Button(catalogue.plain(copy.language, "moderation.desk.back"), copy.back)
            if copy.back
            else None
        )
        text, buttons = current_card(
            catalogue,
            grievance,
            StaffTarget(copy.chat_id, full, copy.language),
            now,
            contactable=contactable,
            main_reference=main_reference,
            assignee_name=assignee_name,
            style=copy.style if full else "restricted",
            back=back,
        )
        message_id = copy.message_id
        if copy.outbox_id is not None:
            row = await uow.session.get(OutboxMessage, copy.outbox_id)
            if row is None:
                continue
            if row.status == outbox.PENDING:
                row.payload = {**row.payload, "text": text, "reply_markup": keyboard(buttons)}
                refreshed += 1
                continue
            message_id = row.sent_message_id
        if message_id is None:
            # Being sent right now: its message id is not known yet, so look again shortly.
            await _refresh_later(uow, grievance, now)
            continue
        await queue_edit(
            uow,
            chat_id=copy.chat_id,
            message_id=message_id,
            text=text,
            buttons=buttons,
            now=now,
            dedupe_key=(
                f"{CARD_EDIT_PREFIX}{grievance.reference}:{grievance.version}:"
                f"{copy.chat_id}:{copy.id}"
            ),
        )
        refreshed += 1
    return refreshed


async def _refresh_later(uow: UnitOfWork, grievance: Grievance, now: datetime) -> None:
    await schedule_task(
        uow,
        kind=CARD_REFRESH_TASK,
        payload={"grievance_id": grievance.id},
        due_at=now + CARD_REFRESH_DELAY,
        now=now,
        dedupe_key=f"{CARD_REFRESH_TASK}:{grievance.reference}:{grievance.version}",
    )


async def _refresh_legacy(
    uow: UnitOfWork,
    grievance: Grievance,
    now: datetime,
    catalogue: Catalogue,
    moderator_chat_id: int | None,
    default_language: str,
) -> int:
    """Cards announced before copies were remembered: found by their outbox keys."""
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
    refreshed = 0
    for row in await _card_rows(uow, grievance, chats):
        target = targets.get(row.chat_id) or StaffTarget(row.chat_id, False, default_language)
        text, buttons = current_card(
            catalogue,
            grievance,
            target,
            now,
            contactable=contactable,
            assignee_name=await name_of(uow, grievance.assignee_id),
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
            await _refresh_later(uow, grievance, now)
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
    copied = await uow.session.scalar(
        select(Grievance.reference)
        .join(CaseCardCopy, CaseCardCopy.grievance_id == Grievance.id)
        .where(CaseCardCopy.chat_id == chat_id, CaseCardCopy.message_id == message_id)
        .limit(1)
    )
    return CardReference("reply", copied) if copied is not None else None


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
    # Remembered once delivered, so that the member's Telegram reply to it finds the case.
    payload: dict[str, Any] = {
        "text": rendered,
        "parse_mode": "HTML",
        outbox.LINK_FIELD: f"{CASE_LINK_PREFIX}{grievance.id}",
    }
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
    """Told to the staff member who replied if the member cannot receive it: "blocked" on a
    403, "a problem on our side" on any other refusal."""
    language = await stored_language(uow, actor_id) or default_language
    text = catalogue.render(
        language, "moderation.reply_not_delivered", reference=reference, actor=actor_id
    )
    # A refusal on our side (too long, bad markup) is never reported as the member blocking us.
    failed = catalogue.render(language, "delivery.reply_failed", reference=reference)
    return {"chat_id": actor_id, "text": text, "text_failed": failed}


async def tell_admins_directory_is_placeholder(
    uow: UnitOfWork,
    now: datetime,
    *,
    catalogue: Catalogue,
    admin_ids: frozenset[int],
    default_language: str,
    file_name: str,
) -> int:
    """At start-up, while the referral directory holds only example entries: tell every admin
    (once a day, however often the bot restarts). Returns how many were told."""
    admins = set(await users_with_role(uow, Role.ADMIN)) | set(admin_ids)
    told = 0
    for user_id in sorted(admins):
        language = await stored_language(uow, user_id) or default_language
        if await queue_text(
            uow,
            chat_id=user_id,
            text=catalogue.render(
                language, "grievances.directory_placeholder", file_name=file_name
            ),
            now=now,
            priority=PRIORITY_STAFF,
            dedupe_key=f"referrals-placeholder:{now.date().isoformat()}:{user_id}",
            source=SOURCE,
        ):
            told += 1
    return told
