"""The audit log in words (issue 18): who (name and role), what, when, from what to what, why.

Each action kind the code writes has one phrase per language under `staff.audit.did.<kind>`
(`tests/members/test_audit_wording.py` reads every `record_action` call in the code and checks
that its kind has both). Phrases get labels, never codes: statuses, priorities, roles and
fields by their catalogue labels, staff by the name colleagues see (`staff_names`), sessions
and surveys by their title, cases by reference.

A status change's reason (staff text, which the member also reads) is shown only to a viewer
who may open that case: a moderator, and for a safeguarding case a safeguarding officer.
Nothing a member wrote is ever shown.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup
from sqlalchemy import select

from bot.engines.roles import Role, may_act, roles_of
from bot.moderation.audit_browsing import AuditLine
from bot.moderation.staff_names import names_of
from messages import Catalogue
from storage.database import UnitOfWork
from storage.models import DialogueSession, Grievance, GrievanceEntry, StaffRole, Survey
from storage.sealing import active_cipher

log = logging.getLogger(__name__)

PHRASE_PREFIX = "staff.audit.did."
ROLE_ORDER = (Role.ADMIN, Role.SAFEGUARDING, Role.MODERATOR, Role.ORGANISER)
REASON_CODES = ("duplicate", "out_of_scope")  # a rejection without a note keeps its code
SESSION_FIELDS = ("starts_at", "ends_at", "venue")
MAX_REASON_SHOWN = 300


def phrase_key(action: str) -> str:
    return f"{PHRASE_PREFIX}{action}"


@dataclass(frozen=True)
class AuditContext:
    """What the lines of one page refer to, read in a few queries."""

    names: dict[int, str]
    roles: dict[int, frozenset[Role]]
    sessions: dict[str, tuple[str, str]]  # id -> (title_ar, title_en)
    surveys: dict[str, tuple[str, str]]
    reasons: dict[int, str]  # audit entry id -> reason (only where the viewer may see it)


def _ids(values: Iterable[str | None]) -> list[int]:
    return sorted({int(value) for value in values if value and value.isdigit()})


async def _roles_by_user(uow: UnitOfWork, user_ids: Sequence[int]) -> dict[int, frozenset[Role]]:
    if not user_ids:
        return {}
    found: dict[int, set[Role]] = {}
    rows = await uow.session.execute(
        select(StaffRole.user_id, StaffRole.role).where(StaffRole.user_id.in_(user_ids))
    )
    for user_id, role in rows.tuples():
        if role in Role.__members__.values():
            found.setdefault(user_id, set()).add(Role(role))
    return {user_id: frozenset(roles) for user_id, roles in found.items()}


async def _titles(
    uow: UnitOfWork, model: type[DialogueSession] | type[Survey], ids: Sequence[int]
) -> dict[str, tuple[str, str]]:
    if not ids:
        return {}
    rows = await uow.session.execute(
        select(model.id, model.title_ar, model.title_en).where(model.id.in_(ids))
    )
    return {str(row_id): (arabic, english) for row_id, arabic, english in rows.tuples()}


async def _reasons(
    uow: UnitOfWork, lines: Sequence[AuditLine], viewer_roles: frozenset[Role]
) -> dict[int, str]:
    """The reason of each status change on a case the viewer may open."""
    if not may_act(viewer_roles, {Role.MODERATOR}):
        return {}
    wanted = [
        line
        for line in lines
        if line.action == "grievance.status" and line.record_type == "grievance"
    ]
    if not wanted:
        return {}
    references = sorted({line.record_id for line in wanted if line.record_id})
    cases = {
        reference: (case_id, safeguarding)
        for case_id, reference, safeguarding in (
            await uow.session.execute(
                select(Grievance.id, Grievance.reference, Grievance.safeguarding).where(
                    Grievance.reference.in_(references)
                )
            )
        ).tuples()
    }
    may_see_safeguarding = may_act(viewer_roles, {Role.SAFEGUARDING})
    visible = {
        case_id: reference
        for reference, (case_id, safeguarding) in cases.items()
        if may_see_safeguarding or not safeguarding
    }
    if not visible:
        return {}
    moments = [line.at for line in wanted]
    rows = await uow.session.execute(
        select(GrievanceEntry.grievance_id, GrievanceEntry.created_at, GrievanceEntry.text).where(
            GrievanceEntry.grievance_id.in_(sorted(visible)),
            GrievanceEntry.kind == "status",
            GrievanceEntry.created_at >= min(moments),
            GrievanceEntry.created_at <= max(moments),
            GrievanceEntry.text.is_not(None),
        )
    )
    by_moment: dict[tuple[str, datetime], str] = {}
    cipher = active_cipher()
    for case_id, created_at, sealed in rows.tuples():
        text = cipher.open_optional(sealed)
        if text:
            by_moment[(visible[case_id], created_at)] = text
    found: dict[int, str] = {}
    for line in wanted:
        reason = by_moment.get((line.record_id or "", line.at))
        if reason:
            found[line.entry_id] = reason
    return found


async def _known(uow: UnitOfWork, lines: Sequence[AuditLine], viewer_id: int) -> AuditContext:
    users = {line.actor_id for line in lines if line.actor_id}
    users |= set(_ids(line.record_id for line in lines if line.record_type == "user"))
    users |= {
        int(previous)
        for line in lines
        if line.action == "grievance.assign"
        and isinstance(previous := line.details.get("previous"), int)
        and previous
    }
    user_ids = sorted(users)
    sessions = _ids(line.record_id for line in lines if line.record_type == "session")
    surveys = _ids(line.record_id for line in lines if line.record_type == "survey")
    return AuditContext(
        names=await names_of(uow, user_ids),
        roles=await _roles_by_user(uow, user_ids),
        sessions=await _titles(uow, DialogueSession, sessions),
        surveys=await _titles(uow, Survey, surveys),
        reasons=await _reasons(uow, lines, await roles_of(uow, viewer_id)),
    )


class AuditWriter:
    """Renders audit lines for one reader (language) with what `_known` read."""

    def __init__(self, catalogue: Catalogue, language: str, known: AuditContext) -> None:
        self.catalogue = catalogue
        self.language = language
        self.known = known

    def _plain(self, key: str, **variables: object) -> str:
        return self.catalogue.plain(self.language, key, **variables)

    def role_labels(self, roles: frozenset[Role]) -> str:
        shown = [role for role in ROLE_ORDER if role in roles]
        separator = self.catalogue.list_separator(self.language)
        return separator.join(self._plain(f"staff.role.{role.value}") for role in shown)

    def person(self, user_id: int | None) -> str:
        """A staff member as colleagues know them: name (roles); never a Telegram id."""
        if user_id is None:
            return self._plain("staff.audit.system")
        name = self.known.names.get(user_id) or self._plain("staff.audit.unnamed")
        roles = self.known.roles.get(user_id, frozenset())
        role_text = self.role_labels(roles) if roles else self._plain("staff.audit.no_role")
        return self._plain("staff.audit.person", name=name, roles=role_text)

    def user(self, record_id: str | None) -> str:
        """The user a role was given to: their name once the bot knows it."""
        if record_id and record_id.isdigit() and int(record_id) in self.known.names:
            return self.known.names[int(record_id)]
        return self._plain("staff.audit.user_without_name", user_id=record_id or "?")

    def _title(self, titles: dict[str, tuple[str, str]], record_id: str | None) -> str:
        pair = titles.get(record_id or "")
        if pair is None:
            return f"#{record_id}"
        arabic, english = pair
        return (arabic if self.language == "ar" else english) or arabic or english

    def record(self, line: AuditLine) -> str:
        kind = line.record_type
        if kind == "session":
            return self._title(self.known.sessions, line.record_id)
        if kind == "survey":
            return self._title(self.known.surveys, line.record_id)
        if kind == "user":
            return self.user(line.record_id)
        if kind == "broadcast":
            return f"#{line.record_id}"
        return line.record_id or ""

    def _status(self, code: Any) -> str:
        return self._plain(f"grievances.status.{code}") if isinstance(code, str) else "?"

    def _priority(self, level: Any) -> str:
        if isinstance(level, int) and 0 <= level <= 3:
            return self._plain(f"moderation.priority.p{level}")
        return "?"

    def _variables(self, line: AuditLine) -> dict[str, object]:
        details = line.details
        variables: dict[str, object] = {"record": self.record(line)}
        if line.action == "grievance.status":
            variables["from_status"] = self._status(details.get("from"))
            variables["to_status"] = self._status(details.get("to"))
        elif line.action == "grievance.priority":
            variables["from_priority"] = self._priority(details.get("previous"))
            variables["to_priority"] = self._priority(details.get("to"))
        elif line.action == "grievance.assign":
            previous = details.get("previous")
            variables["previous"] = (
                self.known.names.get(previous) or self._plain("staff.audit.unnamed")
                if isinstance(previous, int) and previous and previous != line.actor_id
                else ""
            )
        elif line.action in ("role.grant", "role.revoke"):
            role = details.get("role")
            known_role = isinstance(role, str) and role in Role.__members__.values()
            variables["role"] = self._plain(f"staff.role.{role}") if known_role else "?"
        elif line.action == "session.change":
            fields = details.get("fields")
            names = [f for f in fields if f in SESSION_FIELDS] if isinstance(fields, list) else []
            variables["fields"] = [self._plain(f"staff.audit.field.{name}") for name in names]
        for count in ("told", "rows", "links", "questions", "responses", "withdrawn"):
            value = details.get(count)
            variables[count] = value if isinstance(value, int) else 0
        if line.action == "grievance.duplicate":
            main = details.get("main")
            variables["main"] = main if isinstance(main, str) else "?"
        if line.action == "broadcast.schedule":
            send_at = details.get("send_at")
            try:
                variables["send_at"] = datetime.fromisoformat(str(send_at))
            except ValueError:
                variables["send_at"] = line.at
        return variables

    def what(self, line: AuditLine) -> Markup:
        key = phrase_key(line.action)
        if not self.catalogue.has(key):
            log.warning("audit action kind without a phrase: %s", line.action)
            key = "staff.audit.did_other"
        return Markup(  # noqa: S704 - rendered (and escaped) by the catalogue
            self.catalogue.render(self.language, key, **self._variables(line))
        )

    def reason(self, line: AuditLine) -> str | None:
        reason = self.known.reasons.get(line.entry_id)
        if reason is None:
            return None
        if reason in REASON_CODES:
            return self._plain(f"staff.audit.reason_code.{reason}")
        return reason[:MAX_REASON_SHOWN]

    def line(self, line: AuditLine) -> str:
        return self.catalogue.render(
            self.language,
            "staff.audit.entry",
            at=line.at,
            who=self.person(line.actor_id),
            what=self.what(line),
            reason=self.reason(line),
        )


async def audit_in_words(
    uow: UnitOfWork,
    catalogue: Catalogue,
    language: str,
    lines: Sequence[AuditLine],
    viewer_id: int,
) -> list[str]:
    """Each line as one sentence in `language` (HTML, escaped), in the order given."""
    writer = AuditWriter(catalogue, language, await _known(uow, lines, viewer_id))
    return [writer.line(line) for line in lines]
