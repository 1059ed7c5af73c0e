"""/queue: cases most urgent first, then oldest first, with filters and keyset pages.

Order: priority (highest first), then received time, then id. A page continues after the
last case of the previous page (its id is the cursor), one priority level at a time, so every
query is an index range read (`ix_grievances_open_queue` for open cases,
`ix_grievances_queue` for one status) and never a scan of all cases, however deep the page.

Filters (words after /queue, in any order): `status=…`, `cat=…` (category), `gov=…`
(governorate), `mine` (assigned to me), `unassigned`, `overdue` (not acknowledged in time).
Values are codes or names in Arabic or English, compared after `normalise` (hamza and alef
forms, taa marbuta, alef maqsura, diacritics, with or without "ال"/"al"), so `gov=الانبار`,
`gov=الأنبار`, `gov=Anbar` and `الأنبار` alone all mean Anbar. Without a status filter only
open cases are listed. Pages go forwards and backwards by keyset (`after_id`, `before_id`).

`status_totals` counts the open cases by status, each count stopping at `TOTAL_CAP` so that
the queue's header costs the same with a million cases as with ten thousand.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select, text, tuple_

from bot.engines.roles import Role, may_act
from bot.grievances.cases import OPEN_STATUSES, STATUSES
from bot.grievances.directory import categories
from bot.members.demographics import GOVERNORATES
from bot.moderation.actions import require_moderator
from messages import Catalogue
from storage.database import UnitOfWork
from storage.models import Grievance
from storage.models.moderation import OPEN_CASES_SQL

PAGE_SIZE = 8
PRIORITY_LEVELS = (3, 2, 1, 0)
TOTAL_CAP = 1000
LANGUAGES = ("ar", "en")


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
    unassigned: bool = False

    def replace(self, **changes: object) -> QueueFilters:
        values: dict[str, object] = {
            "status": self.status,
            "category": self.category,
            "governorate": self.governorate,
            "mine": self.mine,
            "overdue": self.overdue,
            "unassigned": self.unassigned,
        }
        values.update(changes)
        return QueueFilters(**values)  # type: ignore[arg-type]

    def encode(self) -> str:
        """Compact form for button data (indexes into the known lists)."""
        codes = [c.code for c in categories()]
        parts = [
            f"s{STATUSES.index(self.status)}" if self.status else "",
            f"c{codes.index(self.category)}" if self.category else "",
            f"g{GOVERNORATES.index(self.governorate)}" if self.governorate else "",
            "m" if self.mine else "",
            "o" if self.overdue else "",
            "u" if self.unassigned else "",
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
            if key in "mou":
                values[{"m": "mine", "o": "overdue", "u": "unassigned"}[key]] = True
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


_MARKS = re.compile("[\u064b-\u065f\u0670\u0640]")  # harakat, dagger alef, tatweel
_LETTERS = str.maketrans(
    {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ؤ": "و", "ئ": "ي", "ء": ""}
)
_SEPARATORS = re.compile(r"[\s_\-.,:;'’]+")


def normalise(value: str) -> str:
    """A name as it is compared: case, spelling variants and the article taken away."""
    folded = _MARKS.sub("", unicodedata.normalize("NFKC", value).casefold()).translate(_LETTERS)
    words = []
    for word in _SEPARATORS.split(folded):
        if word in ("", "al", "el", "the", "ال"):
            continue
        if (word.startswith("ال") and len(word) > 3) or (word.startswith("لل") and len(word) > 3):
            word = word[2:]
        words.append(word)
    return "".join(words)


FLAG_WORDS: dict[str, tuple[str, ...]] = {
    "mine": ("mine", "my", "لي", "حالاتي", "خاصتي"),
    "unassigned": ("unassigned", "nobody", "غير مسندة", "غير مسند", "بلا مسؤول"),
    "overdue": ("overdue", "late", "متاخره", "متأخرة", "متاخر", "متأخر"),
}
KEYS: dict[str, tuple[str, ...]] = {
    "status": ("status", "state", "حاله", "الحالة", "وضع"),
    "category": ("cat", "category", "topic", "موضوع", "الموضوع", "فئه"),
    "governorate": ("gov", "governorate", "محافظه", "المحافظة"),
}


def name_tables(catalogue: Catalogue | None) -> dict[str, dict[str, str]]:
    """For each filter, normalised name → code (codes, and labels in Arabic and English)."""
    tables: dict[str, dict[str, str]] = {
        "status": {normalise(code): code for code in STATUSES},
        "category": {},
        "governorate": {normalise(code): code for code in GOVERNORATES},
    }
    for known in categories():
        tables["category"][normalise(known.code)] = known.code
        for label in known.labels.values():
            tables["category"].setdefault(normalise(label), known.code)
    if catalogue is not None:
        for language in LANGUAGES:
            for code in STATUSES:
                label = catalogue.plain(language, f"grievances.status.{code}")
                tables["status"].setdefault(normalise(label), code)
            for code in GOVERNORATES:
                label = catalogue.plain(language, f"governorate.{code}")
                tables["governorate"].setdefault(normalise(label), code)
    return tables


def _flag(word: str) -> str | None:
    wanted = normalise(word)
    for flag, words in FLAG_WORDS.items():
        if wanted in {normalise(w) for w in words}:
            return flag
    return None


def _key(word: str) -> str | None:
    wanted = normalise(word)
    for key, words in KEYS.items():
        if wanted in {normalise(w) for w in words}:
            return key
    return None


def parse_filters(words: list[str], catalogue: Catalogue | None = None) -> QueueFilters:
    """Typed filters: `key=value` or a bare value, names of up to three words."""
    tables = name_tables(catalogue)
    values: dict[str, object] = {}
    tokens = [word for word in (w.strip() for w in words) if word]
    index = 0
    while index < len(tokens):
        raw = tokens[index]
        key_word, equals, value = raw.partition("=")
        if equals:
            key = _key(key_word)
            if key is None:
                raise BadFilter(raw[:40])
            for length in (3, 2, 1):
                name = " ".join([value, *tokens[index + 1 : index + length]])
                code = tables[key].get(normalise(name))
                if code is not None and (length == 1 or index + length <= len(tokens)):
                    values[key] = code
                    index += length
                    break
            else:
                raise BadFilter(raw[:40])
            continue
        pair = " ".join(tokens[index : index + 2]) if index + 1 < len(tokens) else None
        if pair is not None and _flag(pair) is not None:
            values[str(_flag(pair))] = True
            index += 2
            continue
        flag = _flag(raw)
        if flag is not None:
            values[flag] = True
            index += 1
            continue
        for length in (3, 2, 1):
            if index + length > len(tokens):
                continue
            name = normalise(" ".join(tokens[index : index + length]))
            found = next(
                ((key, table[name]) for key, table in tables.items() if name in table), None
            )
            if found is not None:
                values[found[0]] = found[1]
                index += length
                break
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
    previous_cursor: int | None = None  # id of the first line when there are earlier ones


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
    if filters.unassigned:
        query = query.where(Grievance.assignee_id.is_(None))
    if filters.overdue:
        query = query.where(
            Grievance.status == "new",
            Grievance.acknowledged_at.is_(None),
            Grievance.ack_due_at < now,
        )
    return query


async def _cursor(uow: UnitOfWork, case_id: int | None) -> tuple[int, datetime, int] | None:
    if case_id is None:
        return None
    row = (
        await uow.session.execute(
            select(Grievance.priority, Grievance.created_at).where(Grievance.id == case_id)
        )
    ).first()
    return None if row is None else (int(row[0]), row[1], case_id)


async def queue_page(
    uow: UnitOfWork,
    viewer_id: int,
    filters: QueueFilters,
    now: datetime,
    *,
    after_id: int | None = None,
    before_id: int | None = None,
    page_size: int = PAGE_SIZE,
) -> QueuePage:
    """One page of the queue for `viewer_id` (a moderator; roles re-read): the first page,
    the page after case `after_id`, or the page before case `before_id`."""
    held = await require_moderator(uow, viewer_id)
    may_see_safeguarding = may_act(held, {Role.SAFEGUARDING})

    def base(level: int) -> Select[tuple[Grievance]]:
        return _filtered(select(Grievance), filters, viewer_id, now, may_see_safeguarding).where(
            Grievance.priority == level
        )

    found: list[Grievance] = []
    backwards = await _cursor(uow, before_id)
    if backwards is not None:
        start_priority, created_at, case_id = backwards
        for level in reversed(PRIORITY_LEVELS):
            wanted = page_size + 1 - len(found)
            if level < start_priority or wanted <= 0:
                continue
            query = base(level)
            if level == start_priority:
                query = query.where(
                    tuple_(Grievance.created_at, Grievance.id) < (created_at, case_id)
                )
            query = query.order_by(Grievance.created_at.desc(), Grievance.id.desc()).limit(wanted)
            found.extend(await uow.session.scalars(query))
        earlier = len(found) > page_size
        shown = list(reversed(found[:page_size]))
        return QueuePage(
            _lines(shown, now, may_see_safeguarding),
            shown[-1].id if shown else None,
            shown[0].id if earlier and shown else None,
        )
    forwards = await _cursor(uow, after_id)
    for level in PRIORITY_LEVELS:
        if forwards is not None and level > forwards[0]:
            continue
        wanted = page_size + 1 - len(found)
        if wanted <= 0:
            break
        query = base(level)
        if forwards is not None and level == forwards[0]:
            query = query.where(tuple_(Grievance.created_at, Grievance.id) > forwards[1:])
        query = query.order_by(Grievance.created_at, Grievance.id).limit(wanted)
        found.extend(await uow.session.scalars(query))
    more = len(found) > page_size
    shown = found[:page_size]
    return QueuePage(
        _lines(shown, now, may_see_safeguarding),
        shown[-1].id if more and shown else None,
        shown[0].id if forwards is not None and shown else None,
    )


def _lines(
    shown: list[Grievance], now: datetime, may_see_safeguarding: bool
) -> tuple[QueueLine, ...]:
    return tuple(
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


async def status_totals(uow: UnitOfWork) -> dict[str, int]:
    """Open cases by status, each count stopping at `TOTAL_CAP` (an index range read)."""
    totals: dict[str, int] = {}
    for status in OPEN_STATUSES:
        capped = select(Grievance.id).where(Grievance.status == status).limit(TOTAL_CAP).subquery()
        totals[status] = int(
            await uow.session.scalar(select(func.count()).select_from(capped)) or 0
        )
    return totals
