"""Delivering a broadcast through the durable outbox, and following its progress.

`enqueue_batch` (a due-time task) queues the outbox rows of the next `BATCH_SIZE` members
and schedules the batch after it, each batch in its own transaction together with its task:
a crash mid-way re-runs one batch, and the dedupe key `broadcast:<id>:<member>` makes that
harmless, on one instance or several. The single rate-limited sender does the rest.

`follow_progress` (a task repeating every few seconds) edits the organiser's progress message
and, once nothing remains, writes the final report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.broadcasts import audience as broadcast_audience
from bot.broadcasts.lifecycle import (
    CANCELLED,
    DONE,
    PROGRESS_EVERY,
    SCHEDULED,
    SENDING,
    TASK_ENQUEUE,
    TASK_PROGRESS,
    BroadcastNotFound,
    BroadcastView,
    Figures,
    delivery_key,
    enqueue_key,
    figures_of,
    load_row,
    progress_key,
    source_of,
    view_of,
)
from bot.engines.outbox import PRIORITY_BROADCAST, PRIORITY_STAFF, Button, queue_edit, queue_text
from bot.engines.tasks import schedule_task
from messages import Catalogue
from storage import outbox
from storage.database import UnitOfWork

BATCH_SIZE = 250  # one short write transaction: replies are not held up behind it
MEDIA_METHODS = {"photo": "sendPhoto", "document": "sendDocument"}
CANCEL_PREFIX = "bc:stop:"


def member_message(
    catalogue: Catalogue, view: BroadcastView, language: str
) -> tuple[str, dict[str, Any]]:
    """The Bot API method and payload a member reading `language` receives (and the preview)."""
    text = catalogue.render(language, "broadcasts.delivery.message", text=view.text_for(language))
    if view.media_kind in MEDIA_METHODS and view.media_file_id:
        kind = view.media_kind
        payload = {kind: {"file_id": view.media_file_id}, "caption": text, "parse_mode": "HTML"}
        return MEDIA_METHODS[kind], payload
    return "sendMessage", {"text": text, "parse_mode": "HTML"}


@dataclass(frozen=True)
class DeliveryContext:
    """What the delivery tasks need from the running bot."""

    catalogue: Catalogue
    default_language: str


async def enqueue_batch(
    uow: UnitOfWork, delivery: DeliveryContext, payload: dict[str, Any], now: datetime
) -> None:
    try:
        row = await load_row(uow, int(payload["broadcast_id"]), for_update=True)
    except BroadcastNotFound:
        return
    if row.status not in (SCHEDULED, SENDING):
        return  # cancelled meanwhile
    view = view_of(row)
    audience, default = view.audience, delivery.default_language
    after = int(payload.get("after", 0))
    if row.status == SCHEDULED:
        row.status = SENDING
        row.started_at = now
    if after == 0:
        counted = await broadcast_audience.count_audience(uow, audience, default)
        row.recipients = counted.total
        await schedule_task(
            uow,
            kind=TASK_PROGRESS,
            payload={"broadcast_id": row.id, "seq": 1},
            due_at=now + PROGRESS_EVERY,
            now=now,
            dedupe_key=progress_key(row.id, 1),
        )
    batch = await broadcast_audience.next_recipients(uow, audience, default, after, BATCH_SIZE)
    messages = {code: member_message(delivery.catalogue, view, code) for code in ("ar", "en")}
    rows = [
        {
            "chat_id": member_id,
            "method": messages[language][0],
            "payload": messages[language][1],
            "priority": PRIORITY_BROADCAST,
            "status": outbox.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "dedupe_key": delivery_key(row.id, member_id),
            "source": source_of(row.id),
            "created_at": now,
        }
        for member_id, language in batch
    ]
    await outbox.enqueue_many(uow.session, rows)
    if len(batch) < BATCH_SIZE:
        row.enqueued_all = True
        return
    last = batch[-1][0]
    row.enqueue_cursor = last
    await schedule_task(
        uow,
        kind=TASK_ENQUEUE,
        payload={"broadcast_id": row.id, "after": last},
        due_at=now,
        now=now,
        dedupe_key=enqueue_key(row.id, last),
    )


def progress_variables(view: BroadcastView, figures: Figures, now: datetime) -> dict[str, Any]:
    """Figures plus an estimate of the time left, from the pace achieved so far."""
    eta_minutes = eta_seconds = -1
    if view.started_at is not None and figures.finished > 0:
        elapsed = max((now - view.started_at).total_seconds(), 0.001)
        left = round(figures.remaining * elapsed / figures.finished)
        eta_minutes, eta_seconds = divmod(left, 60)
    return {
        "broadcast_id": view.id,
        "total": figures.total,
        "sent": figures.sent,
        "remaining": figures.remaining,
        "blocked": figures.blocked,
        "failed": figures.failed,
        "cancelled": figures.cancelled,
        "eta_minutes": eta_minutes,
        "eta_seconds": eta_seconds,
    }


async def follow_progress(
    uow: UnitOfWork, delivery: DeliveryContext, payload: dict[str, Any], now: datetime
) -> None:
    try:
        row = await load_row(uow, int(payload["broadcast_id"]), for_update=True)
    except BroadcastNotFound:
        return
    view = view_of(row)
    if view.status not in (SENDING, CANCELLED) or view.finished_at is not None:
        return
    figures = await figures_of(uow, view)
    language, catalogue = view.organiser_language, delivery.catalogue
    variables = progress_variables(view, figures, now)
    seq = int(payload.get("seq", 1))
    still_running = figures.remaining > 0 or (view.status == SENDING and not view.enqueued_all)
    if still_running:
        key = (
            "broadcasts.progress.cancelling"
            if view.status == CANCELLED
            else "broadcasts.progress.sending"
        )
        text = catalogue.render(language, key, **variables)
        fingerprint = f"{figures.sent}/{figures.remaining}/{figures.blocked}/{figures.failed}"
        if fingerprint != row.last_progress:
            row.last_progress = fingerprint
            stop = Button(
                catalogue.plain(language, "broadcasts.buttons.cancel"),
                f"{CANCEL_PREFIX}{view.id}",
            )
            await _edit_progress(
                uow, view, text, now, seq, [[stop]] if view.status == SENDING else []
            )
        await schedule_task(
            uow,
            kind=TASK_PROGRESS,
            payload={"broadcast_id": view.id, "seq": seq + 1},
            due_at=now + PROGRESS_EVERY,
            now=now,
            dedupe_key=progress_key(view.id, seq + 1),
        )
        return
    if view.status == SENDING:
        row.status = DONE
    row.finished_at = now
    row.delivered, row.blocked, row.failed = figures.sent, figures.blocked, figures.failed
    key = "broadcasts.report.cancelled" if view.status == CANCELLED else "broadcasts.report.done"
    text = catalogue.render(language, key, **variables)
    await _edit_progress(uow, view, text, now, seq, [])
    if view.progress_chat_id is not None:
        await queue_text(
            uow,
            chat_id=view.progress_chat_id,
            text=text,
            now=now,
            priority=PRIORITY_STAFF,
            dedupe_key=f"broadcast:{view.id}:report",
        )


async def _edit_progress(
    uow: UnitOfWork,
    view: BroadcastView,
    text: str,
    now: datetime,
    seq: int,
    buttons: list[list[Button]],
) -> None:
    if view.progress_chat_id is None or view.progress_message_id is None:
        return
    await queue_edit(
        uow,
        chat_id=view.progress_chat_id,
        message_id=view.progress_message_id,
        text=text,
        now=now,
        buttons=buttons,
        priority=PRIORITY_STAFF,
        dedupe_key=f"broadcast:{view.id}:edit:{seq}",
    )
