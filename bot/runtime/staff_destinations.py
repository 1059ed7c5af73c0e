"""Staff destinations that move or vanish (issue 14, point 4).

- **The staff group is upgraded to a supergroup.** Telegram answers 400 with
  `migrate_to_chat_id`. The sender resends to the new id at once, remembers the move in
  `chat_moves` (so a restart keeps using it), sends there whatever was still queued for the
  old id, moves the cards it keeps true, and tells every admin, in their language, to update
  `MODERATOR_CHAT_ID`. At start the remembered move replaces the configured id.
- **The bot is removed from the staff group** (403). The card goes to every moderator's
  private chat instead, and every admin is told at once, in their language (at most once an
  hour per group, however many cards follow).
- **A message for staff that cannot be delivered** (a moderator who blocked the bot, a
  refusal) is never left failed unseen: the admins are told, with the case's reference when
  the message was about one.

Alerts carry Telegram's description of the refusal, never the text of the message.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from bot.engines.outbox import PRIORITY_STAFF
from bot.engines.roles import Role, users_with_role
from bot.members.records import stored_language
from bot.runtime.context import Services
from storage import outbox
from storage.database import UnitOfWork
from storage.models import CaseCardCopy, ChatMove, OutboxMessage, StaffRole
from storage.upsert import insert_for

logger = logging.getLogger(__name__)

_REFERENCE = re.compile(r"GR-[0-9A-Z]{4}-[0-9A-Z]{4}")
RESENDABLE = frozenset({"sendMessage", "sendDocument", "sendPhoto"})


async def load_chat_moves(services: Services) -> dict[int, int]:
    """Every remembered move, resolved to its last id; the staff group's replaces the
    configured `MODERATOR_CHAT_ID` for this process."""
    async with services.database.unit_of_work() as uow:
        rows = (
            await uow.session.execute(select(ChatMove.old_chat_id, ChatMove.new_chat_id))
        ).all()
    moves = {int(old): int(new) for old, new in rows}
    resolved = {old: final_destination(moves, old) for old in moves}
    configured = services.settings.moderator_chat_id
    if configured is not None and configured in resolved:
        adopt_staff_chat(services, resolved[configured])
    return resolved


def final_destination(moves: dict[int, int], chat_id: int) -> int:
    seen = {chat_id}
    while chat_id in moves and moves[chat_id] not in seen:
        chat_id = moves[chat_id]
        seen.add(chat_id)
    return chat_id


def adopt_staff_chat(services: Services, chat_id: int) -> None:
    """From now on this process treats `chat_id` as the staff group: the settings and every
    feature's desk that copied `MODERATOR_CHAT_ID` from them (flows hold those desks, so
    they are changed in place; this is the one moment the staff group changes while
    running)."""
    if services.settings.moderator_chat_id == chat_id:
        return
    services.settings = dataclasses.replace(services.settings, moderator_chat_id=chat_id)
    for desk in services.extras.values():
        if dataclasses.is_dataclass(desk) and hasattr(desk, "moderator_chat_id"):
            object.__setattr__(desk, "moderator_chat_id", chat_id)


async def admins(uow: UnitOfWork, services: Services) -> list[int]:
    holders = set(
        await uow.session.scalars(select(StaffRole.user_id).where(StaffRole.role == "admin"))
    )
    return sorted(holders | set(services.settings.admin_ids))


async def _language(uow: UnitOfWork, services: Services, user_id: int) -> str:
    return await stored_language(uow, user_id) or services.settings.default_language


async def tell_admins(
    uow: UnitOfWork,
    services: Services,
    key: str,
    now: datetime,
    dedupe: str,
    *,
    skip: int | None = None,
    **variables: Any,
) -> int:
    """Queue `key` to every admin in their own language, in the plainest form (no
    buttons, no link previews); returns how many were queued."""
    queued = 0
    for admin_id in await admins(uow, services):
        if admin_id == skip:
            continue
        text = services.catalogue.render(
            await _language(uow, services, admin_id), key, **variables
        )
        queued += await outbox.enqueue(
            uow.session,
            chat_id=admin_id,
            method="sendMessage",
            payload={"text": text, "parse_mode": "HTML"},
            now=now,
            priority=PRIORITY_STAFF + 5,
            dedupe_key=f"{dedupe}:{admin_id}",
            source="delivery",
        )
    if queued == 0:
        logger.error("no admin to tell (%s); set ADMIN_IDS", key)
    return queued


async def record_move(
    uow: UnitOfWork, services: Services, old_chat_id: int, new_chat_id: int, now: datetime
) -> None:
    """Remember that `old_chat_id` is now `new_chat_id` and send everything there."""
    statement = insert_for(uow.session, ChatMove).values(
        old_chat_id=old_chat_id, new_chat_id=new_chat_id, moved_at=now
    )
    await uow.session.execute(
        statement.on_conflict_do_update(
            index_elements=["old_chat_id"], set_={"new_chat_id": new_chat_id, "moved_at": now}
        )
    )
    await uow.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.chat_id == old_chat_id,
            OutboxMessage.status.in_((outbox.PENDING, outbox.SENDING)),
            OutboxMessage.method != "editMessageText",
        )
        .values(chat_id=new_chat_id)
        .execution_options(synchronize_session=False)
    )
    await uow.session.execute(
        update(CaseCardCopy)
        .where(CaseCardCopy.chat_id == old_chat_id)
        .values(chat_id=new_chat_id)
        .execution_options(synchronize_session=False)
    )
    staff_group = services.settings.moderator_chat_id
    if staff_group in (old_chat_id, new_chat_id):
        adopt_staff_chat(services, new_chat_id)
        logger.warning(
            "the staff group %s became supergroup %s; set MODERATOR_CHAT_ID",
            old_chat_id,
            new_chat_id,
        )
        await tell_admins(
            uow,
            services,
            "delivery.staff_group_moved",
            now,
            f"chat-moved:{old_chat_id}",
            new_chat_id=str(new_chat_id),
            old_chat_id=str(old_chat_id),
        )


def is_staff_group(services: Services, chat_id: int) -> bool:
    return chat_id == services.settings.moderator_chat_id


async def is_staff_chat(uow: UnitOfWork, services: Services, chat_id: int) -> bool:
    if is_staff_group(services, chat_id) or chat_id in services.settings.admin_ids:
        return True
    held = await uow.session.scalar(
        select(StaffRole.user_id).where(StaffRole.user_id == chat_id).limit(1)
    )
    return held is not None


def reference_in(payload: dict[str, Any]) -> str | None:
    for field in ("text", "caption"):
        value = payload.get(field)
        if isinstance(value, str) and (match := _REFERENCE.search(value)):
            return match.group(0)
    return None


async def after_undelivered(
    uow: UnitOfWork,
    services: Services,
    message: outbox.OutgoingMessage,
    status: str,
    description: str,
    now: datetime,
) -> None:
    """A message ended failed or unreachable: if it was for staff, someone is told."""
    if message.source == "delivery" and message.chat_id in set(await admins(uow, services)):
        # An alert to an admin that failed: the other admins hear of it once, no further.
        if message.payload.get("text") is not None:
            logger.error(
                "an admin alert to %s was not delivered (%s)", message.chat_id, description
            )
        return
    if not await is_staff_chat(uow, services, message.chat_id):
        return
    bucket = now.strftime("%Y%m%d%H")
    if is_staff_group(services, message.chat_id) and status == outbox.UNREACHABLE:
        if message.method in RESENDABLE:
            await _to_each_moderator(uow, services, message, now)
        logger.error("the staff group %s refused the bot (%s)", message.chat_id, description)
        await tell_admins(
            uow,
            services,
            "delivery.staff_group_lost",
            now,
            f"staff-group-lost:{message.chat_id}:{bucket}",
            chat_id=str(message.chat_id),
            description=description,
        )
        return
    if message.method not in RESENDABLE:
        return  # an edit that failed: the card it keeps true was delivered once
    logger.error(
        "a message for staff chat %s was not delivered (%s)", message.chat_id, description
    )
    await tell_admins(
        uow,
        services,
        "delivery.staff_message_undelivered",
        now,
        f"staff-undelivered:{message.id}",
        skip=message.chat_id,
        chat_id=str(message.chat_id),
        description=description,
        reference=reference_in(message.payload) or "",
    )


async def _to_each_moderator(
    uow: UnitOfWork, services: Services, message: outbox.OutgoingMessage, now: datetime
) -> None:
    """The staff group is gone: the same card to every moderator privately (admins when
    there is no moderator), each copy kept true as the case changes."""
    recipients = await users_with_role(uow, Role.MODERATOR) or await admins(uow, services)
    copies = await uow.session.execute(
        select(CaseCardCopy).where(CaseCardCopy.outbox_id == message.id)
    )
    cards = list(copies.scalars())
    for user_id in recipients:
        key = f"staff-fallback:{message.id}:{user_id}"
        queued = await outbox.enqueue(
            uow.session,
            chat_id=user_id,
            method=message.method,
            payload=dict(message.payload),
            now=now,
            priority=PRIORITY_STAFF + 5,
            dedupe_key=key,
            source=message.source,
        )
        if not queued:
            continue
        outbox_id = await uow.session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)
        )
        for card in cards:
            uow.session.add(
                CaseCardCopy(
                    grievance_id=card.grievance_id,
                    chat_id=user_id,
                    outbox_id=outbox_id,
                    message_id=None,
                    language=card.language,
                    style=card.style,
                    back=card.back,
                    created_at=now,
                )
            )
