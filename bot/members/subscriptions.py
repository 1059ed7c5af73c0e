"""Opting out of announcements and back in: /unsubscribe and /subscribe (SPEC §3.5).

Only announcements stop: service messages a member asked for (session reminders, replies to
their reports) still reach them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.database import UnitOfWork
from storage.models import Member


class NotAMember(Exception):
    """The person has not accepted the privacy notice yet."""


@dataclass(frozen=True)
class SubscriptionChange:
    subscribed: bool
    changed: bool


async def set_subscribed(
    uow: UnitOfWork, user_id: int, subscribed: bool, now: datetime
) -> SubscriptionChange:
    member = await uow.session.get(Member, user_id)
    if member is None or member.consented_at is None:
        raise NotAMember(user_id)
    member.last_seen_at = now
    changed = member.subscribed != subscribed
    member.subscribed = subscribed
    return SubscriptionChange(subscribed, changed)
