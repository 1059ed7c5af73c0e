"""Staff roles (SPEC §4): admin, moderator, safeguarding, organiser.

An admin may do everything; a safeguarding officer is a moderator who may also open
safeguarding cases. Roles are read from the database on every use, so a revoked role stops
working at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, select

from bot.engines.audit import record_action
from storage.database import UnitOfWork
from storage.models import StaffRole


class Role(StrEnum):
    ADMIN = "admin"
    MODERATOR = "moderator"
    SAFEGUARDING = "safeguarding"
    ORGANISER = "organiser"


ALL_ROLES = frozenset(Role)
# Holding the key role means also holding the value roles.
_IMPLIED: dict[Role, frozenset[Role]] = {
    Role.ADMIN: frozenset(Role),
    Role.SAFEGUARDING: frozenset({Role.SAFEGUARDING, Role.MODERATOR}),
    Role.MODERATOR: frozenset({Role.MODERATOR}),
    Role.ORGANISER: frozenset({Role.ORGANISER}),
}


class UnknownRole(ValueError):
    pass


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise UnknownRole(text) from None


def effective_roles(held: Iterable[Role]) -> frozenset[Role]:
    result: set[Role] = set()
    for role in held:
        result |= _IMPLIED[role]
    return frozenset(result)


def may_act(held: Iterable[Role], allowed: Iterable[Role]) -> bool:
    return bool(effective_roles(held) & set(allowed))


@dataclass(frozen=True)
class StaffMember:
    user_id: int
    roles: tuple[Role, ...]


async def roles_of(uow: UnitOfWork, user_id: int) -> frozenset[Role]:
    rows = await uow.session.scalars(select(StaffRole.role).where(StaffRole.user_id == user_id))
    return frozenset(Role(value) for value in rows if value in ALL_ROLES)


async def grant_role(
    uow: UnitOfWork, *, actor_id: int | None, user_id: int, role: Role, now: datetime
) -> bool:
    """Give `role` to `user_id`; False if they had it already. Audited."""
    existing = await uow.session.get(StaffRole, (user_id, role.value))
    if existing is not None:
        return False
    uow.session.add(
        StaffRole(user_id=user_id, role=role.value, granted_by=actor_id, granted_at=now)
    )
    await record_action(
        uow,
        actor_id=actor_id,
        action="role.grant",
        record_type="user",
        record_id=str(user_id),
        details={"role": role.value},
        now=now,
    )
    return True


async def revoke_role(
    uow: UnitOfWork, *, actor_id: int | None, user_id: int, role: Role, now: datetime
) -> bool:
    """Take `role` from `user_id`; False if they did not have it. Audited."""
    result = await uow.session.execute(
        delete(StaffRole).where(StaffRole.user_id == user_id, StaffRole.role == role.value)
    )
    if not getattr(result, "rowcount", 0):
        return False
    await record_action(
        uow,
        actor_id=actor_id,
        action="role.revoke",
        record_type="user",
        record_id=str(user_id),
        details={"role": role.value},
        now=now,
    )
    return True


async def list_staff(uow: UnitOfWork) -> list[StaffMember]:
    rows = await uow.session.execute(
        select(StaffRole.user_id, StaffRole.role).order_by(StaffRole.user_id, StaffRole.role)
    )
    by_user: dict[int, list[Role]] = {}
    for user_id, role in rows.tuples():
        if role in ALL_ROLES:
            by_user.setdefault(user_id, []).append(Role(role))
    return [StaffMember(user_id, tuple(roles)) for user_id, roles in by_user.items()]


async def users_with_role(uow: UnitOfWork, role: Role) -> list[int]:
    """Users who hold `role` directly or through admin/safeguarding."""
    holders = [r for r, implied in _IMPLIED.items() if role in implied]
    rows = await uow.session.scalars(
        select(StaffRole.user_id).where(StaffRole.role.in_([r.value for r in holders])).distinct()
    )
    return sorted(set(rows))


async def bootstrap_admins(uow: UnitOfWork, admin_ids: Iterable[int], now: datetime) -> int:
    """Make every id in ADMIN_IDS an admin at start-up; returns how many were new."""
    added = 0
    for user_id in sorted(admin_ids):
        if await grant_role(uow, actor_id=None, user_id=user_id, role=Role.ADMIN, now=now):
            added += 1
    return added
