"""Reading the effects the test-only effect feature wrote (rows of the audit table)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select

from storage.database import Database
from storage.models import AuditEntry


@dataclass(frozen=True)
class Effect:
    order: int
    update_id: int
    chat: int
    seq: int


async def recorded_effects(database: Database) -> list[Effect]:
    async with database.unit_of_work() as uow:
        rows = await uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "test.effect").order_by(AuditEntry.id)
        )
        return [
            Effect(
                row.id, int(row.record_id or 0), int(row.details["chat"]), int(row.details["seq"])
            )
            for row in rows
        ]


def duplicates(effects: list[Effect]) -> dict[int, int]:
    counts = Counter(effect.update_id for effect in effects)
    return {update_id: n for update_id, n in counts.items() if n > 1}


def out_of_order_chats(effects: list[Effect]) -> list[int]:
    last_seq: dict[int, int] = {}
    bad = []
    for effect in effects:
        if effect.seq <= last_seq.get(effect.chat, -1):
            bad.append(effect.chat)
        last_seq[effect.chat] = effect.seq
    return bad
