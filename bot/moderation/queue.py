"""/queue: cases most urgent first, then oldest first, with filters and keyset pages.

Order: priority (highest first), then received time, then id. A page continues after the
last case of the previous page (its id is the cursor), one priority level at a time, so every
query is an index range read (`ix_grievances_open_queue` for open cases,
`ix_grievances_queue` for one status) and never a scan of all cases, however deep the page.

Filters (words after /queue, in any order): `status=…`, `cat=…` (category), `gov=…`
(governorate), `mine` (assigned to me), `overdue` (not acknowledged in time). Without a
status filter only open cases are listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select, text, tuple_

from bot.engines.roles import Role, may_act
from bot.grievances.cases import STATUSES
from bot.grievances.directory import categories
from bot.members.demographics import GOVERNORATES
from bot.moderation.actions import require_moderator
from storage.database import UnitOfWork
from storage.models import Grievance
from storage.models.moderation import OPEN_CASES_SQL

PAGE_SIZE = 10
PRIORITY_LEVELS = (3, 2, 1, 0)


class BadFilter(ValueError):
    """A filter word that is not understood; `word` is shown back to the moderator."""

    def __init__(self, word: str) -> None:
        super().__init__(word)
        self.word = word


@dataclass(frozen=True)
class QueueFilters:
    status: str | None = None
    category: str | None = None
    governorate: str | None = None
    mine: bool = False
    overdue: bool = False

    def encode(self) -> str:
        """Compact form for button data (indexes into the known lists)."""
        codes = [c.code for c in categories()]
        parts = [
            f"s{STATUSES.index(self.status)}" if self.status else "",
            f"c{codes.index(self.category)}" if self.category else "",
            f"g{GOVERNORATES.index(self.governorate)}" if self.governorate else "",
            "m" if self.mine else "",
            "o" if self.overdue else "",
        ]
        return "".join(parts) or "-"

    @classmethod
    def decode(cls, encoded: str) -> QueueFilters:
        codes = [c.code for c in categories()]
        values: dict[str, object] = {}
        index = 0
        text_ = "" if encoded == "-" else encoded
        while index < len(text_):
            key = text_[index]
            index += 1
            if key in "mo":
                values["mine" if key == "m" else "overdue"] = True
                continue
            digits = ""
            while index < len(text_) and text_[index].isdigit():
                digits += text_[index]
                index += 1
            number = int(digits) if digits and len(digits) < 4 else -1
            lists: dict[str, tuple[str, ...]] = {
                "s": STATUSES,
                "c": tuple(codes),
                "g": GOVERNORATES,
            }
            if key not in lists or not 0 <= number < len(lists[key]):
                raise BadFilter(encoded)
            name = {"s": "status", "c": "category", "g": "governorate"}[key]
            values[name] = lists[key][number]
        return cls(**values)  # type: ignore[arg-type]


def parse_filters(words: list[str]) -> QueueFilters:
    values: dict[str, object] = {}
    codes = {c.code for c in categories()}
    for raw in words:
        word = raw.strip().lower()
        key, _, value = word.partition("=")
        if word in ("mine", "overdue"):
            values[word] = True
        elif key == "status" and value in STATUSES:
            values["status"] = value
        elif key in ("cat", "category") and value in codes:
            values["category"] = value
        elif key in ("gov", "governorate") and value in GOVERNORATES:
            values["governorate"] = value
        elif not value and word in STATUSES:
            values["status"] = word
        elif not value and word in GOVERNORATES:
            values["governorate"] = word
        elif not value and word in codes:
            values["category"] = word
        else:
            raise BadFilter(raw[:40])
    return QueueFilters(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class QueueLine:
    id: int
    reference: str
    status: str
    priority: int
    category: str
    governorate: str | None  # None for a safeguarding case the viewer may not open
    urgency: str
    assignee_id: int | None
    created_at: datetime
    overdue: bool


@dataclass(frozen=True)
class QueuePage:
    lines: tuple[QueueLine, ...]
    next_cursor: int | None  # id of the last line when there are more


# Fields a safeguarding case's card hides from staff without the safeguarding role: a filter
# on one of them never matches such a case for them (it would tell the hidden value).
HIDDEN_ON_SAFEGUARDING_CARDS = frozenset({"governorate", "area", "description"})


def _filtered(
    query: Select[tuple[Grievance]],
    filters: QueueFilters,
    viewer: int,
    now: datetime,
    may_see_safeguarding: bool = False,
) -> Select[tuple[Grievance]]:
    if filters.status is None:
        query = query.where(text(OPEN_CASES_SQL))
    else:
        query = query.where(Grievance.status == filters.status)
    if filters.category is not None:
        query = query.where(Grievance.category == filters.category)
    if filters.governorate is not None:
        query = query.where(Grievance.governorate == filters.governorate)
        if not may_see_safeguarding:
            query = query.where(Grievance.safeguarding.is_(False))
    if filters.mine:
        query = query.where(Grievance.assignee_id == viewer)
    if filters.overdue:
        query = query.where(
            Grievance.status == "new",
            Grievance.acknowledged_at.is_(None),
            Grievance.ack_due_at < now,
        )
    return query


async def queue_page(
    uow: UnitOfWork,
    viewer_id: int,
    filters: QueueFilters,
    now: datetime,
    *,
    after_id: int | None = None,
    page_size: int = PAGE_SIZE,
) -> QueuePage:
    """One page of the queue for `viewer_id` (a moderator; roles re-read)."""
    held = await require_moderator(uow, viewer_id)
    may_see_safeguarding = may_act(held, {Role.SAFEGUARDING})
    start_priority: int | None = None
    after: tuple[datetime, int] | None = None
    if after_id is not None:
        row = (
            await uow.session.execute(
                select(Grievance.priority, Grievance.created_at).where(Grievance.id == after_id)
            )
        ).first()
        if row is not None:
            start_priority, after = int(row[0]), (row[1], after_id)
    found: list[Grievance] = []
    for level in PRIORITY_LEVELS:
        if start_priority is not None and level > start_priority:
            continue
        wanted = page_size + 1 - len(found)
        if wanted <= 0:
            break
        query = _filtered(select(Grievance), filters, viewer_id, now, may_see_safeguarding).where(
            Grievance.priority == level
        )
        if after is not None and level == start_priority:
            query = query.where(tuple_(Grievance.created_at, Grievance.id) > after)
        query = query.order_by(Grievance.created_at, Grievance.id).limit(wanted)
        found.extend(await uow.session.scalars(query))
    more = len(found) > page_size
    shown = found[:page_size]
    lines = tuple(
        QueueLine(
            id=g.id,
            reference=g.reference,
            status=g.status,
            priority=g.priority,
            category=g.category,
            governorate=None if g.safeguarding and not may_see_safeguarding else g.governorate,
            urgency=g.urgency,
            assignee_id=g.assignee_id,
            created_at=g.created_at,
            overdue=g.status == "new" and g.acknowledged_at is None and g.ack_due_at < now,
        )
        for g in shown
    )
    return QueuePage(lines, shown[-1].id if more and shown else None)
