"""Due-time work of sessions: reminders before the start, the feedback invitation at the end,
and offering freed seats to the waiting list (SPEC §2: time-based work is data).

Who is told is decided when the task runs, not when it was scheduled: a member who cancelled
gets nothing. Each message has a dedupe key, so a task that runs twice sends once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from bot.engines.outbox import Button, queue_text
from bot.sessions.lifecycle import CONFIRMED, PUBLISHED, session_variables, view_of
from messages import Catalogue
from storage.database import UnitOfWork
from storage.models import DialogueSession, Member, SessionRegistration

FEEDBACK_CALLBACK_PREFIX = "sfb:"


async def _current(uow: UnitOfWork, payload: dict[str, Any]) -> DialogueSession | None:
    """The session, if the task was scheduled for its current published version."""
    row = await uow.session.get(DialogueSession, int(payload["session_id"]))
    if row is None or row.status != PUBLISHED or row.version != int(payload["version"]):
        return None
    return row


async def _confirmed(
    uow: UnitOfWork, session_id: int, *, checked_in_only: bool
) -> list[tuple[int, str, str]]:
    """(user id, language, code) of confirmed members, read now."""
    query = (
        select(
            SessionRegistration.user_id,
            func.coalesce(Member.language, SessionRegistration.language),
            SessionRegistration.code,
        )
        .outerjoin(Member, Member.user_id == SessionRegistration.user_id)
        .where(
            SessionRegistration.session_id == session_id,
            SessionRegistration.status == CONFIRMED,
            SessionRegistration.user_id.is_not(None),
        )
        .order_by(SessionRegistration.id)
    )
    if checked_in_only:
        query = query.where(SessionRegistration.checked_in_at.is_not(None))
    rows = await uow.session.execute(query)
    return [(uid, lang, code) for uid, lang, code in rows.tuples() if uid is not None]


async def send_reminders(
    uow: UnitOfWork, catalogue: Catalogue, payload: dict[str, Any], now: datetime
) -> int:
    row = await _current(uow, payload)
    if row is None:
        return 0
    minutes = int(payload["minutes"])
    view = await view_of(uow, row)
    sent = 0
    for user_id, language, code in await _confirmed(uow, row.id, checked_in_only=False):
        text = catalogue.render(
            language,
            "sessions.notice.reminder",
            code=code,
            hours=minutes // 60,
            **session_variables(view, language, catalogue),
        )
        if await queue_text(
            uow,
            chat_id=user_id,
            text=text,
            now=now,
            dedupe_key=(
                f"sessions:{row.id}:remind:{row.starts_at.isoformat()}:{minutes}:{user_id}"
            ),
            source=f"session:{row.id}",
        ):
            sent += 1
    return sent


async def invite_feedback(
    uow: UnitOfWork, catalogue: Catalogue, payload: dict[str, Any], now: datetime
) -> int:
    row = await _current(uow, payload)
    if row is None:
        return 0
    view = await view_of(uow, row)
    sent = 0
    for user_id, language, _code in await _confirmed(uow, row.id, checked_in_only=True):
        text = catalogue.render(
            language, "sessions.feedback.invite", **session_variables(view, language, catalogue)
        )
        button = Button(
            catalogue.plain(language, "sessions.feedback.start_button"),
            f"{FEEDBACK_CALLBACK_PREFIX}{row.id}",
        )
        if await queue_text(
            uow,
            chat_id=user_id,
            text=text,
            now=now,
            buttons=[[button]],
            dedupe_key=f"sessions:{row.id}:feedback:{user_id}",
            source=f"session:{row.id}",
        ):
            sent += 1
    return sent
