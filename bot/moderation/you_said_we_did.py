""" "You said, we did" (SPEC §5 feedback loop): an organiser tells a governorate, in aggregate,
what its members raised and what was done, through the broadcast sender.

The message carries counts by category for the last 30 days only where a category has at
least `bot.engines.disclosure.THRESHOLD` (5) reports (smaller cells are left out; no total
is given, so nothing adds up to them; safeguarding topics are never named), and never a case
or a person. It is created
as a broadcast draft to the governorate's subscribed, reachable, consented members; the
organiser confirms it like any broadcast.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.broadcasts.audience import Audience, count_audience
from bot.broadcasts.lifecycle import BroadcastDraft, BroadcastView, create_draft
from bot.engines.disclosure import THRESHOLD
from bot.engines.roles import Role, may_act, roles_of
from bot.grievances.directory import category
from bot.grievances.stats import RECENT_DAYS
from bot.members.demographics import GOVERNORATES
from messages import Catalogue
from storage.database import UnitOfWork
from storage.models import Grievance

MAX_DONE_TEXT = 1500


class NotOrganiser(Exception):
    pass


class UnknownGovernorate(ValueError):
    pass


async def draft_feedback(
    uow: UnitOfWork,
    catalogue: Catalogue,
    governorate: str,
    what_we_did: str,
    actor_id: int,
    language: str,
    default_language: str,
    now: datetime,
) -> tuple[BroadcastView, int]:
    """The draft broadcast and how many members it would reach (audited by create_draft)."""
    if not may_act(await roles_of(uow, actor_id), {Role.ORGANISER}):
        raise NotOrganiser(actor_id)
    if governorate not in GOVERNORATES:
        raise UnknownGovernorate(governorate)
    since = now - timedelta(days=RECENT_DAYS)
    rows = await uow.session.execute(
        select(Grievance.category, func.count())
        .where(Grievance.governorate == governorate, Grievance.created_at >= since)
        .group_by(Grievance.category)
        .order_by(func.count().desc())
    )
    # Safeguarding topics never go into a public message. No total is published, so the
    # topics under the threshold are simply left out: nothing shown adds up to them.
    counts = [
        (code, int(n))
        for code, n in rows.tuples()
        if n >= THRESHOLD and not category(code).safeguarding
    ]
    texts = {}
    for lang in ("ar", "en"):
        texts[lang] = catalogue.plain(
            lang,
            "moderation.wedid.message",
            governorate_label=catalogue.plain(lang, f"governorate.{governorate}"),
            topics=[
                {"label": category(code).labels.get(lang, code), "count": count}
                for code, count in counts
            ],
            days=RECENT_DAYS,
            done=what_we_did.strip()[:MAX_DONE_TEXT],
        )
    audience = Audience({"governorates": [governorate]})
    view = await create_draft(
        uow,
        BroadcastDraft(texts["ar"], texts["en"], None, None, audience, None),
        actor_id=actor_id,
        language=language,
        now=now,
    )
    reach = await count_audience(uow, audience, default_language)
    return view, reach.total
