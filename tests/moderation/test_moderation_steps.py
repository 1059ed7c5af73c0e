"""Shared steps of the moderation tests: a staff group, staff in it, cases seeded directly,
pressing card buttons and replying to cards (no tests in this module)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.engines.roles import Role
from bot.grievances.flow import GrievanceDesk
from bot.grievances.references import ALPHABET, check_character, format_reference
from handlers.grievances import desk_of
from storage.models import AuditEntry, Grievance, GrievanceReporter
from tests.fake_telegram import FakeBotApi, SentMessage, SimulatedUser, TgChat, TgUser, factories
from tests.grievances.test_grievance_steps import staff_member
from tests.support.harness import BotHarness

GROUP_ID = -100900
GROUP = TgChat(GROUP_ID, "supergroup", "Moderators")


async def staff_in_group(bot: BotHarness, user_id: int, role: Role) -> SimulatedUser:
    """A staff member (English) writing in the staff group."""
    await staff_member(bot, user_id, role)
    return SimulatedUser(bot.api, TgUser(user_id, f"Staff {user_id}", language_code="en"), GROUP)


def desk(bot: BotHarness) -> GrievanceDesk:
    assert bot.runtime is not None and bot.runtime.services is not None
    return desk_of(bot.runtime.services)


def current(api: FakeBotApi, message: SentMessage) -> SentMessage:
    """The message as it is now (after edits)."""
    stored = api.get_message(message.chat_id, message.message_id)
    assert stored is not None
    return stored


def data_starting(api: FakeBotApi, message: SentMessage, prefix: str) -> str:
    matches = [d for _, d in current(api, message).buttons() if d.startswith(prefix)]
    assert len(matches) == 1, (prefix, current(api, message).buttons())
    return matches[0]


def reply_to(api: FakeBotApi, user: SimulatedUser, message: SentMessage, text: str) -> int:
    """`user` answers `message` with Telegram's reply feature."""
    return api.push_update(
        factories.text_message(
            user.user,
            text,
            chat=user.chat,
            message_id=api.allocate_message_id(user.chat.id),
            reply_to=api.message_dict(current(api, message)),
        )
    )


async def next_with(api: FakeBotApi, chat_id: int, fragment: str) -> SentMessage:
    """The next message to `chat_id` containing `fragment` (others are skipped)."""
    while True:
        message = await api.next_message(chat_id, timeout=20)
        if fragment in message.content:
            return message


async def wait_until(condition: object, timeout: float = 20.0) -> None:
    """Poll an async predicate (edits arrive through the outbox)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if await condition():  # type: ignore[operator]
            return
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def card_shows(api: FakeBotApi, card: SentMessage, fragment: str) -> None:
    """Wait until the card, edited in place through the outbox, shows `fragment`."""

    async def shown() -> bool:
        return fragment in current(api, card).content

    await wait_until(shown)


async def audit_actions(bot: BotHarness, reference: str) -> list[tuple[str, int | None]]:
    async with bot.db.unit_of_work() as uow:
        rows = await uow.session.execute(
            select(AuditEntry.action, AuditEntry.actor_id)
            .where(AuditEntry.record_id == reference)
            .order_by(AuditEntry.id)
        )
        return [(action, actor) for action, actor in rows.tuples()]


@dataclass(frozen=True)
class CaseRow:
    status: str
    assignee_id: int | None
    priority: int
    version: int
    main_case_id: int | None


async def grievance_row(bot: BotHarness, reference: str) -> CaseRow:
    async with bot.db.unit_of_work() as uow:
        row = await uow.session.scalar(select(Grievance).where(Grievance.reference == reference))
        assert row is not None
        return CaseRow(row.status, row.assignee_id, row.priority, row.version, row.main_case_id)


def reference_for(number: int) -> str:
    """A valid reference (with its check character) made from `number`."""
    body = ""
    for _ in range(7):
        number, digit = divmod(number, len(ALPHABET))
        body = ALPHABET[digit] + body
    return format_reference(body + check_character(body))


def new_case(
    number: int,
    created_at: datetime,
    *,
    status: str = "new",
    priority: int = 0,
    category: str = "public_services",
    governorate: str = "anbar",
    safeguarding: bool = False,
    assignee_id: int | None = None,
) -> Grievance:
    """A case row for seeding."""
    reference = reference_for(number)
    return Grievance(
        reference=reference,
        status=status,
        priority=priority,
        assignee_id=assignee_id,
        category=category,
        safeguarding=safeguarding,
        governorate=governorate,
        area=None,
        description="seeded",
        media=[],
        urgency="low",
        risk_flags=[],
        created_at=created_at,
        updated_at=created_at,
        ack_due_at=created_at + timedelta(hours=48),
        acknowledged_at=None if status == "new" else created_at + timedelta(hours=5),
        card_dedupe_key=f"grievance-card:{reference}",
    )


async def seed_cases(
    bot: BotHarness, cases: Sequence[Grievance], reporter: int | None = None
) -> None:
    async with bot.db.unit_of_work() as uow:
        uow.session.add_all(cases)
        await uow.session.flush()
        if reporter is not None:
            for case in cases:
                uow.session.add(
                    GrievanceReporter(
                        grievance_id=case.id,
                        user_id=reporter,
                        contactable=False,
                        contact_details=None,
                        language="en",
                        created_at=case.created_at,
                    )
                )
        await uow.commit()
