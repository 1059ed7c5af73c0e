"""Service levels and early warning as due-time tasks (SPEC §4.1, §5).

- `moderation.ack_nudge` (scheduled with each new card, at its acknowledgement due time):
  if the case is still not acknowledged, nudge the assignee privately, or the staff group
  (moderators privately without one) when nobody is assigned; then again a day later (an
  urgent case: again after its own target, HIWAR_ACK_URGENT_HOURS). An urgent or
  risk-flagged case past its target is also escalated privately to every moderator on duty
  and every admin (safeguarding cases: safeguarding staff on duty and admins), once per
  person per case.
- `moderation.digest`: every day at HIWAR_DIGEST_HOUR (default 8) in TIMEZONE, a summary to
  the staff group: new, overdue and resolved cases and new cases by category. It schedules
  the next day's digest itself.
- `moderation.spikes`: every HIWAR_SPIKE_INTERVAL_HOURS (default 6), the spike check of
  `bot.moderation.spike_detection`; each (governorate, category, day) alerts once.

Messages carry references, categories and counts only, never what anyone wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.config import ConfigError
from bot.engines.disclosure import THRESHOLD, protect_counts, wording
from bot.engines.outbox import PRIORITY_STAFF, queue_text
from bot.engines.roles import Role, users_with_role
from bot.engines.tasks import schedule_task
from bot.grievances.directory import category
from bot.grievances.flow import GrievanceDesk
from bot.grievances.notices import (
    ACK_NUDGE_TASK,
    case_button,
    is_urgent,
    moderators_on_duty,
    staff_targets,
)
from bot.grievances.stats import (
    DEFAULT_STAFF_STATS_MIN_COUNT,
    overdue_count,
    staff_stats_threshold,
)
from bot.members.records import stored_language
from bot.moderation.spike_detection import DEFAULT_MIN_COUNT, find_spikes, record_alert
from storage.database import UnitOfWork
from storage.models import Grievance

DIGEST_TASK = "moderation.digest"
SPIKE_TASK = "moderation.spikes"
NUDGE_INTERVAL = timedelta(days=1)
MAX_NUDGES = 7


@dataclass(frozen=True)
class ModerationPolicy:
    digest_hour: int = 8
    spike_min_count: int = DEFAULT_MIN_COUNT
    spike_interval: timedelta = timedelta(hours=6)
    staff_min_cell: int = (
        DEFAULT_STAFF_STATS_MIN_COUNT  # /stats, the digest: counts under this are "<N"
    )


def _number(values: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = (values.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}, got {raw!r}")
    return int(raw)


def moderation_policy(extra: Mapping[str, str]) -> ModerationPolicy:
    return ModerationPolicy(
        digest_hour=_number(extra, "HIWAR_DIGEST_HOUR", 8, 0, 23),
        # An alert names a governorate and a topic: never for fewer people than THRESHOLD.
        spike_min_count=_number(
            extra, "HIWAR_SPIKE_MIN_COUNT", DEFAULT_MIN_COUNT, THRESHOLD, 10_000
        ),
        spike_interval=timedelta(hours=_number(extra, "HIWAR_SPIKE_INTERVAL_HOURS", 6, 1, 24)),
        staff_min_cell=staff_stats_threshold(extra),
    )


def next_digest_at(now: datetime, hour: int, zone: ZoneInfo) -> datetime:
    local = now.astimezone(zone)
    candidate = datetime.combine(local.date(), time(hour), zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), time(hour), zone)
    return candidate


async def schedule_digest(
    uow: UnitOfWork, now: datetime, policy: ModerationPolicy, zone: ZoneInfo
) -> bool:
    due = next_digest_at(now, policy.digest_hour, zone)
    return await schedule_task(
        uow,
        kind=DIGEST_TASK,
        payload={},
        due_at=due,
        now=now,
        dedupe_key=f"{DIGEST_TASK}:{due.date().isoformat()}",
    )


def next_spike_slot(now: datetime, interval: timedelta) -> datetime:
    """The next multiple of `interval` since the epoch: one chain of checks, however often
    the bot restarts."""
    step = int(interval.total_seconds())
    seconds = int(now.timestamp())
    return datetime.fromtimestamp((seconds // step + 1) * step, now.tzinfo)


async def schedule_spike_check(uow: UnitOfWork, now: datetime, policy: ModerationPolicy) -> bool:
    due = next_spike_slot(now, policy.spike_interval)
    return await schedule_task(
        uow,
        kind=SPIKE_TASK,
        payload={},
        due_at=due,
        now=now,
        dedupe_key=f"{SPIKE_TASK}:{due.isoformat()}",
    )


async def _tell_staff(
    uow: UnitOfWork, desk: GrievanceDesk, key: str, dedupe: str, now: datetime, **variables: object
) -> None:
    """To the staff group, or each moderator privately when there is none."""
    targets = await staff_targets(uow, desk.moderator_chat_id, False, desk.default_language)
    for target in targets:
        await queue_text(
            uow,
            chat_id=target.chat_id,
            text=desk.catalogue.render(target.language, key, **variables),
            now=now,
            priority=PRIORITY_STAFF,
            dedupe_key=f"{dedupe}:{target.chat_id}",
        )


async def send_ack_nudge(
    uow: UnitOfWork, desk: GrievanceDesk, grievance_id: int, round_: int, now: datetime
) -> bool:
    """Nudge about a case still not acknowledged; False when nothing was due."""
    grievance = await uow.session.get(Grievance, grievance_id)
    if grievance is None or grievance.acknowledged_at is not None or grievance.status != "new":
        return False
    variables = {
        "reference": grievance.reference,
        "category_label": "",
        "due_at": grievance.ack_due_at,
    }
    dedupe = f"moderation-nudge-msg:{grievance.reference}:{round_}"
    assignee = grievance.assignee_id
    if assignee is not None and assignee in await users_with_role(uow, Role.MODERATOR):
        language = await stored_language(uow, assignee) or desk.default_language
        variables["category_label"] = category(grievance.category).labels.get(language, "")
        await queue_text(
            uow,
            chat_id=assignee,
            text=desk.catalogue.render(language, "moderation.nudge.assignee", **variables),
            now=now,
            priority=PRIORITY_STAFF,
            dedupe_key=dedupe,
        )
    else:
        variables["category_label"] = category(grievance.category).labels.get(
            desk.default_language, ""
        )
        await _tell_staff(uow, desk, "moderation.nudge.unassigned", dedupe, now, **variables)
    urgent = is_urgent(grievance)
    if urgent:
        await escalate_overdue(uow, desk, grievance, now)
    if round_ + 1 < MAX_NUDGES:
        interval = min(NUDGE_INTERVAL, desk.policy.ack_urgent) if urgent else NUDGE_INTERVAL
        await schedule_task(
            uow,
            kind=ACK_NUDGE_TASK,
            payload={"grievance_id": grievance_id, "round": round_ + 1},
            due_at=now + interval,
            now=now,
            dedupe_key=f"moderation-nudge:{grievance.reference}:{round_ + 1}",
        )
    return True


async def escalation_recipients(uow: UnitOfWork, grievance: Grievance) -> list[int]:
    """Who hears of an urgent case past its target: staff on duty who may open it, and
    every admin (on duty or not)."""
    on_duty = set(await moderators_on_duty(uow))
    if grievance.safeguarding:
        on_duty &= set(await users_with_role(uow, Role.SAFEGUARDING))
    return sorted(on_duty | set(await users_with_role(uow, Role.ADMIN)))


async def escalate_overdue(
    uow: UnitOfWork, desk: GrievanceDesk, grievance: Grievance, now: datetime
) -> int:
    """Escalate an urgent case nobody acknowledged in time; each person is told once per
    case (outbox de-duplication), however many nudge rounds follow. Returns how many new
    messages were queued."""
    known = category(grievance.category)
    queued = 0
    for user_id in await escalation_recipients(uow, grievance):
        language = await stored_language(uow, user_id) or desk.default_language
        text = desk.catalogue.render(
            language,
            "moderation.nudge.escalation",
            reference=grievance.reference,
            category_label=known.labels.get(language, known.code),
            urgency_label=desk.catalogue.plain(
                language, f"grievances.urgency.{grievance.urgency}"
            ),
            due_at=grievance.ack_due_at,
        )
        if await queue_text(
            uow,
            chat_id=user_id,
            text=text,
            buttons=case_button(desk.catalogue, language, grievance.reference),
            now=now,
            priority=PRIORITY_STAFF,
            dedupe_key=f"grievance-escalation:{grievance.reference}:{user_id}",
        ):
            queued += 1
    return queued


async def send_digest(
    uow: UnitOfWork, desk: GrievanceDesk, now: datetime, policy: ModerationPolicy, zone: ZoneInfo
) -> None:
    since = now - timedelta(days=1)
    new_count = await uow.session.scalar(
        select(func.count()).select_from(Grievance).where(Grievance.created_at >= since)
    )
    resolved = await uow.session.scalar(
        select(func.count()).select_from(Grievance).where(Grievance.resolved_at >= since)
    )
    rows = await uow.session.execute(
        select(Grievance.category, func.count())
        .where(Grievance.created_at >= since)
        .group_by(Grievance.category)
        .order_by(func.count().desc())
    )
    language = desk.default_language
    counts = [(code, int(count)) for code, count in rows.tuples()]
    figures = protect_counts([count for _, count in counts], threshold=policy.staff_min_cell)
    words = wording(desk.catalogue, language, policy.staff_min_cell)
    by_category = [
        {"label": category(code).labels.get(language, code), "count": words.of(figure)}
        for (code, _), figure in zip(counts, figures, strict=True)
    ]
    await _tell_staff(
        uow,
        desk,
        "moderation.digest",
        f"moderation-digest-msg:{now.astimezone(zone).date().isoformat()}",
        now,
        new=int(new_count or 0),
        overdue=await overdue_count(uow, now),
        resolved=int(resolved or 0),
        by_category=by_category,
    )
    await schedule_digest(uow, now + timedelta(minutes=1), policy, zone)


async def run_spike_check(
    uow: UnitOfWork, desk: GrievanceDesk, now: datetime, policy: ModerationPolicy, zone: ZoneInfo
) -> int:
    """Alert the staff about each new spike; schedules the next check. Returns alerts sent."""
    day = now.astimezone(zone).date()
    sent = 0
    for spike in await find_spikes(uow, now, min_count=policy.spike_min_count):
        if not await record_alert(uow, spike, day, now):
            continue
        language = desk.default_language
        await _tell_staff(
            uow,
            desk,
            "moderation.spike",
            f"moderation-spike:{spike.governorate}:{spike.category}:{day.isoformat()}",
            now,
            governorate_label=desk.catalogue.plain(language, f"governorate.{spike.governorate}"),
            category_label=category(spike.category).labels.get(language, spike.category),
            count=spike.count,
            mean=round(spike.mean, 1),
        )
        sent += 1
    await schedule_spike_check(uow, now, policy)
    return sent
