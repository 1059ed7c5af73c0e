"""Due-time work of the grievance feature (SPEC §2, §7).

- `grievances.notify_member`: render a staff reply or status change in the member's language
  and queue it in the outbox (scheduled by `change_status` / `relay_staff_reply`).
- `grievances.retention`: once a day, remove identity links of reports closed longer than
  HIWAR_IDENTITY_RETENTION_DAYS ago, and blank the text of member notifications the outbox
  has finished with (staff replies must not stay readable there); then schedule tomorrow's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from bot.engines.tasks import TaskRegistry, schedule_task
from bot.grievances.cases import NOTIFY_MEMBER_TASK, purge_expired_identities
from bot.grievances.flow import GrievanceDesk
from bot.grievances.notices import notify_member
from storage.database import UnitOfWork
from storage.models import OutboxMessage

logger = logging.getLogger(__name__)

RETENTION_TASK = "grievances.retention"
RETENTION_INTERVAL = timedelta(days=1)
NOTIFY_DEDUPE_PREFIX = "grievance-notify:"
FINISHED_OUTBOX_STATUSES = ("sent", "failed", "unreachable", "cancelled")


async def schedule_retention(uow: UnitOfWork, due_at: datetime, now: datetime) -> bool:
    """Schedule the retention run of `due_at`'s day (once a day, whoever asks)."""
    return await schedule_task(
        uow,
        kind=RETENTION_TASK,
        payload={},
        due_at=due_at,
        now=now,
        dedupe_key=f"{RETENTION_TASK}:{due_at.date().isoformat()}",
    )


async def scrub_finished_notifications(uow: UnitOfWork) -> int:
    result = await uow.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.dedupe_key.startswith(NOTIFY_DEDUPE_PREFIX),
            OutboxMessage.status.in_(FINISHED_OUTBOX_STATUSES),
        )
        .values(payload={"text": "", "redacted": True})
    )
    return int(getattr(result, "rowcount", 0) or 0)


def register_grievance_tasks(registry: TaskRegistry, desk: Callable[[], GrievanceDesk]) -> None:
    async def notify(uow: UnitOfWork, payload: dict[str, Any], now: datetime) -> None:
        current = desk()
        await notify_member(
            uow,
            int(payload["entry_id"]),
            now,
            catalogue=current.catalogue,
            cipher=current.cipher,
            default_language=current.default_language,
            appeal_days=current.policy.appeal_period.days,
        )

    async def retention(uow: UnitOfWork, payload: dict[str, Any], now: datetime) -> None:
        purged = await purge_expired_identities(uow, now, desk().policy.identity_retention)
        scrubbed = await scrub_finished_notifications(uow)
        await schedule_retention(uow, now + RETENTION_INTERVAL, now)
        logger.info("grievance retention: %d identity links purged, %d scrubbed", purged, scrubbed)

    registry.register(NOTIFY_MEMBER_TASK, notify)
    registry.register(RETENTION_TASK, retention)
