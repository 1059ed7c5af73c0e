"""Announcements: drafting, confirming, scheduling, cancelling and the figures (SPEC §4.2).

Lifecycle: draft → (scheduled →) sending → done; a draft can be discarded, a scheduled or
sending broadcast cancelled. Delivery is `bot.broadcasts.delivery`: a task queues
one outbox row per member and another follows the progress. Figures always come from the
outbox rows, so they are right after a restart too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.broadcasts.audience import Audience
from bot.engines.audit import record_action
from bot.engines.outbox import queue_edit
from bot.engines.tasks import cancel_tasks, schedule_task
from messages import Catalogue
from storage import outbox
from storage.database import UnitOfWork
from storage.models import Broadcast

DRAFT = "draft"
SCHEDULED = "scheduled"
SENDING = "sending"
DONE = "done"
CANCELLED = "cancelled"
DISCARDED = "discarded"
ACTIVE = (SCHEDULED, SENDING)

TASK_ENQUEUE = "broadcast.enqueue"
TASK_PROGRESS = "broadcast.progress"
PROGRESS_EVERY = timedelta(seconds=3)
RECENT = 10


class BroadcastNotFound(Exception):
    pass


class NotADraft(Exception):
    """Confirmed, discarded, or not the organiser's own draft."""


class NotActive(Exception):
    """Nothing to cancel: the broadcast is finished, cancelled or still a draft."""


def source_of(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}"


def delivery_key(broadcast_id: int, member_id: int) -> str:
    return f"broadcast:{broadcast_id}:{member_id}"


def enqueue_key(broadcast_id: int, after: int) -> str:
    return f"broadcast:{broadcast_id}:enqueue:{after}"


def progress_key(broadcast_id: int, seq: int) -> str:
    return f"broadcast:{broadcast_id}:progress:{seq}"


@dataclass(frozen=True)
class BroadcastDraft:
    text_ar: str | None
    text_en: str | None
    media_kind: str | None
    media_file_id: str | None
    audience: Audience
    send_at: datetime | None


@dataclass(frozen=True)
class BroadcastView:
    id: int
    status: str
    created_by: int
    organiser_language: str
    text_ar: str | None
    text_en: str | None
    media_kind: str | None
    media_file_id: str | None
    audience: Audience
    send_at: datetime | None
    recipients: int
    enqueued_all: bool
    progress_chat_id: int | None
    progress_message_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    def text_for(self, language: str) -> str:
        """The member's language; a missing version falls back to the other."""
        preferred = self.text_ar if language == "ar" else self.text_en
        return preferred or self.text_en or self.text_ar or ""


@dataclass(frozen=True)
class Figures:
    """Where delivery stands; `remaining` counts members not yet tried (or being retried)."""

    total: int
    sent: int
    blocked: int
    failed: int
    cancelled: int
    remaining: int

    @property
    def finished(self) -> int:
        return self.sent + self.blocked + self.failed


def view_of(row: Broadcast) -> BroadcastView:
    return BroadcastView(
        id=row.id,
        status=row.status,
        created_by=row.created_by,
        organiser_language=row.organiser_language,
        text_ar=row.text_ar,
        text_en=row.text_en,
        media_kind=row.media_kind,
        media_file_id=row.media_file_id,
        audience=Audience.from_dict(dict(row.audience)),
        send_at=row.send_at,
        recipients=row.recipients,
        enqueued_all=row.enqueued_all,
        progress_chat_id=row.progress_chat_id,
        progress_message_id=row.progress_message_id,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


async def load_row(uow: UnitOfWork, broadcast_id: int, *, for_update: bool = False) -> Broadcast:
    query = select(Broadcast).where(Broadcast.id == broadcast_id)
    if for_update:
        query = query.with_for_update()
    row = await uow.session.scalar(query)
    if row is None:
        raise BroadcastNotFound(broadcast_id)
    return row


async def get_broadcast(uow: UnitOfWork, broadcast_id: int) -> BroadcastView:
    return view_of(await load_row(uow, broadcast_id))


async def _audit(
    uow: UnitOfWork, actor_id: int, action: str, broadcast_id: int, now: datetime, **details: Any
) -> None:
    await record_action(
        uow,
        actor_id=actor_id,
        action=action,
        record_type="broadcast",
        record_id=str(broadcast_id),
        now=now,
        details=details,
    )


async def create_draft(
    uow: UnitOfWork, draft: BroadcastDraft, *, actor_id: int, language: str, now: datetime
) -> BroadcastView:
    if not (draft.text_ar or draft.text_en):
        raise ValueError("a broadcast needs a text in at least one language")
    row = Broadcast(
        created_by=actor_id,
        organiser_language=language,
        text_ar=draft.text_ar,
        text_en=draft.text_en,
        media_kind=draft.media_kind,
        media_file_id=draft.media_file_id,
        audience=draft.audience.as_dict(),
        status=DRAFT,
        send_at=draft.send_at,
        recipients=0,
        enqueue_cursor=0,
        enqueued_all=False,
        delivered=0,
        blocked=0,
        failed=0,
        created_at=now,
    )
    uow.session.add(row)
    await uow.session.flush()
    await _audit(
        uow,
        actor_id,
        "broadcast.draft",
        row.id,
        now,
        audience=draft.audience.as_dict(),
        media=draft.media_kind,
    )
    return view_of(row)


async def confirm_broadcast(
    uow: UnitOfWork,
    broadcast_id: int,
    *,
    actor_id: int,
    progress_chat_id: int,
    progress_message_id: int,
    now: datetime,
) -> BroadcastView:
    """Send now, or schedule for `send_at`; the confirmation card becomes the progress message."""
    row = await load_row(uow, broadcast_id, for_update=True)
    if row.status != DRAFT or row.created_by != actor_id:
        raise NotADraft(broadcast_id)
    row.progress_chat_id = progress_chat_id
    row.progress_message_id = progress_message_id
    later = row.send_at is not None and row.send_at > now
    due = row.send_at if later and row.send_at is not None else now
    row.status = SCHEDULED if later else SENDING
    if not later:
        row.started_at = now
    await schedule_task(
        uow,
        kind=TASK_ENQUEUE,
        payload={"broadcast_id": row.id, "after": 0},
        due_at=due,
        now=now,
        dedupe_key=enqueue_key(row.id, 0),
    )
    await _audit(
        uow,
        actor_id,
        "broadcast.schedule" if later else "broadcast.send",
        row.id,
        now,
        send_at=due.isoformat(),
    )
    return view_of(row)


async def discard_draft(
    uow: UnitOfWork, broadcast_id: int, *, actor_id: int, now: datetime
) -> BroadcastView:
    row = await load_row(uow, broadcast_id, for_update=True)
    if row.status != DRAFT or row.created_by != actor_id:
        raise NotADraft(broadcast_id)
    row.status = DISCARDED
    row.finished_at = now
    await _audit(uow, actor_id, "broadcast.discard", row.id, now)
    return view_of(row)


async def cancel_broadcast(
    uow: UnitOfWork, catalogue: Catalogue, broadcast_id: int, *, actor_id: int, now: datetime
) -> Figures:
    """Stop a scheduled or running broadcast: nothing more is queued, pending rows cancelled.

    Messages already handed to the sender finish; the progress task then writes the final
    report. A broadcast whose delivery had not begun is final at once.
    """
    row = await load_row(uow, broadcast_id, for_update=True)
    if row.status not in ACTIVE:
        raise NotActive(broadcast_id)
    began = row.enqueued_all or row.recipients > 0  # set by the first delivery batch
    row.status = CANCELLED
    await cancel_tasks(uow, f"broadcast:{row.id}:enqueue:")
    withdrawn = await outbox.cancel_pending(uow.session, source_of(row.id))
    await _audit(uow, actor_id, "broadcast.cancel", row.id, now, withdrawn=withdrawn)
    view = view_of(row)
    figures = await figures_of(uow, view)
    if not began:
        row.finished_at = now
        if view.progress_chat_id is not None and view.progress_message_id is not None:
            report = catalogue.render(
                view.organiser_language,
                "broadcasts.report.cancelled",
                broadcast_id=view.id,
                sent=0,
                cancelled=0,
                blocked=0,
                failed=0,
            )
            await queue_edit(
                uow,
                chat_id=view.progress_chat_id,
                message_id=view.progress_message_id,
                text=report,
                now=now,
                buttons=[],
                dedupe_key=f"broadcast:{view.id}:edit:cancelled",
            )
    return figures


async def figures_of(uow: UnitOfWork, view: BroadcastView) -> Figures:
    counts = await outbox.counts_by_status(uow.session, source_of(view.id))
    sent = counts.get(outbox.SENT, 0)
    blocked = counts.get(outbox.UNREACHABLE, 0)
    failed = counts.get(outbox.FAILED, 0)
    cancelled = counts.get(outbox.CANCELLED, 0)
    queued = sum(counts.values())
    in_outbox = counts.get(outbox.PENDING, 0) + counts.get(outbox.SENDING, 0)
    if view.enqueued_all or view.status in (CANCELLED, DONE):
        total = queued
        remaining = in_outbox
    else:
        total = max(view.recipients, queued)
        remaining = total - (sent + blocked + failed + cancelled)
    return Figures(total, sent, blocked, failed, cancelled, max(remaining, 0))


async def recent_broadcasts(
    uow: UnitOfWork, limit: int = RECENT
) -> list[tuple[BroadcastView, Figures]]:
    rows = await uow.session.scalars(
        select(Broadcast)
        .where(Broadcast.status != DISCARDED)
        .order_by(Broadcast.id.desc())
        .limit(limit)
    )
    result = []
    for row in rows.all():
        view = view_of(row)
        result.append((view, await figures_of(uow, view)))
    return result
