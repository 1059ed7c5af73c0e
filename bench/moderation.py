"""Moderation at scale: /queue, /case, /stats and /export with 10,000 to 1,000,000 cases.

    python bench/moderation.py [--sizes 10000,100000,1000000] [--db sqlite,postgresql]

Seeds cases in bulk (executemany in batches) into a fresh SQLite file and, if
HIWAR_BENCH_POSTGRES_URL (or HIWAR_TEST_POSTGRES_URL) is set, a PostgreSQL database (its
public schema is DROPPED first: point it at a scratch database). It grows the same database
from the smallest size to the largest and, at each size, times the service functions behind
the commands (medians of repeated calls):

- /queue first page and a deep keyset page (continuing after a case deep in the queue);
- /case (the live card of a case);
- /stats (all figures), at each size;
- peak Python memory (tracemalloc) of an export of 100,000 cases, at the 100,000 size.

It prints the latency ratio largest/smallest size (target ≤ 2: indexed, paged, never a full
scan) and the query plans of the queue and case queries.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select, text

from bot.engines import field_encryption
from bot.engines.roles import Role, grant_role
from bot.grievances.directory import categories
from bot.grievances.export import export_cases
from bot.grievances.flow import GrievanceDesk
from bot.grievances.lexicon import default_lexicon
from bot.grievances.policy import GrievancePolicy
from bot.grievances.references import (
    ALPHABET,
    check_character,
    format_reference,
)
from bot.grievances.stats import case_stats
from bot.members.demographics import GOVERNORATES
from bot.moderation.case_view import case_card
from bot.moderation.queue import QueueFilters, parse_filters, queue_page, status_totals
from messages import Catalogue
from storage.database import Database
from storage.migrate import upgrade_database
from storage.models import Grievance

MODERATOR = 900_001
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OPEN = ("new", "acknowledged", "in_review", "escalated")
FINAL = ("resolved", "closed", "rejected")
BATCH = 20_000
REPEAT = 31


def reference_for(number: int) -> str:
    body = ""
    for _ in range(7):
        number, digit = divmod(number, len(ALPHABET))
        body = ALPHABET[digit] + body
    return format_reference(body + check_character(body))


def case_rows(start: int, stop: int, rng: random.Random) -> list[dict[str, Any]]:
    codes = [c.code for c in categories()]
    rows = []
    for number in range(start, stop):
        created = NOW - timedelta(minutes=rng.randint(1, 730 * 24 * 60))
        # about 10% of cases are open, the rest finished: a long-running deployment
        status = rng.choice(OPEN) if rng.random() < 0.1 else rng.choice(FINAL)
        acknowledged = created + timedelta(hours=rng.randint(1, 96)) if status != "new" else None
        rows.append(
            {
                "reference": reference_for(number),
                "status": status,
                "priority": rng.choice((0, 0, 0, 1, 1, 2, 3)),
                "assignee_id": rng.choice((None, MODERATOR, 900_002)),
                "category": rng.choice(codes),
                "safeguarding": False,
                "governorate": rng.choice(GOVERNORATES),
                "area": None,
                "description": "seeded case",
                "media": [],
                "urgency": "low",
                "risk_flags": [],
                "created_at": created,
                "updated_at": created,
                "ack_due_at": created + timedelta(hours=48),
                "acknowledged_at": acknowledged,
                "resolved_at": acknowledged if status in FINAL else None,
                "closed_at": acknowledged if status in ("closed", "rejected") else None,
                "card_dedupe_key": None,
                "version": 1,
            }
        )
    return rows


async def seed(database: Database, start: int, stop: int) -> None:
    rng = random.Random(start)
    for low in range(start, stop, BATCH):
        async with database.unit_of_work() as uow:
            await uow.session.execute(
                insert(Grievance), case_rows(low, min(low + BATCH, stop), rng)
            )
            await uow.commit()
    if database.is_postgresql:
        # VACUUM (outside a transaction) sets the visibility map and statistics, so the
        # timings are not taken while autovacuum is still chewing on the bulk insert.
        async with database.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE grievances"))
        return
    async with database.unit_of_work() as uow:
        await uow.session.execute(text("ANALYZE"))
        await uow.commit()


async def timed(call: Callable[[], Awaitable[object]]) -> float:
    await call()  # warm up: caches and prepared statements
    samples = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def measure(database: Database, desk: GrievanceDesk, size: int) -> dict[str, float]:
    async with database.unit_of_work() as uow:
        deep_id = await uow.session.scalar(
            select(Grievance.id)
            .where(text("status IN ('new', 'acknowledged', 'in_review', 'escalated')"))
            .where(Grievance.priority == 1)
            .order_by(Grievance.created_at.desc())
            .limit(1)
            .offset(size // 200)
        )
    rng = random.Random(size)
    references = [reference_for(rng.randrange(size)) for _ in range(REPEAT)]

    async def first_page() -> None:
        async with database.unit_of_work() as uow:  # what /queue shows: totals and a page
            await queue_page(uow, MODERATOR, QueueFilters(), NOW)
            await status_totals(uow)

    async def previous_page() -> None:
        async with database.unit_of_work() as uow:  # the "Previous" button deep in the queue
            await queue_page(uow, MODERATOR, QueueFilters(), NOW, before_id=deep_id)

    arabic = parse_filters(["gov=الأنبار", "غير", "مسندة"], desk.catalogue)

    async def arabic_filtered_page() -> None:
        async with database.unit_of_work() as uow:  # a typed Arabic filter, then its page
            await queue_page(uow, MODERATOR, arabic, NOW)

    async def deep_page() -> None:
        async with database.unit_of_work() as uow:
            await queue_page(uow, MODERATOR, QueueFilters(), NOW, after_id=deep_id)

    async def filtered_page() -> None:
        async with database.unit_of_work() as uow:
            await queue_page(uow, MODERATOR, QueueFilters(status="new", governorate="anbar"), NOW)

    async def open_case() -> None:
        async with database.unit_of_work() as uow:  # rolled back: the audit row is not kept
            reference = references.pop()
            references.insert(0, reference)
            await case_card(uow, desk, reference, MODERATOR, "en", NOW)

    async def stats() -> None:
        async with database.unit_of_work() as uow:
            await case_stats(uow, NOW)

    result = {
        "queue_first": await timed(first_page),
        "queue_deep": await timed(deep_page),
        "queue_filtered": await timed(filtered_page),
        "queue_previous": await timed(previous_page),
        "queue_arabic_filter": await timed(arabic_filtered_page),
        "case": await timed(open_case),
    }
    started = time.perf_counter()
    await stats()
    result["stats"] = time.perf_counter() - started
    return result


async def export_memory(database: Database) -> tuple[float, int, float]:
    tracemalloc.start()
    started = time.perf_counter()
    async with database.unit_of_work() as uow:
        files = await export_cases(
            uow,
            MODERATOR,
            QueueFilters(),
            NOW,
            catalogue=Catalogue(ZoneInfo("Asia/Baghdad")),
            language="ar",
        )
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    files.remove()
    return peak / 2**20, files.rows, elapsed


async def plans(database: Database) -> list[str]:
    queue_sql = (
        "SELECT id FROM grievances WHERE status IN ('new', 'acknowledged', 'in_review', "
        "'escalated') AND priority = 3 ORDER BY created_at, id LIMIT 11"
    )
    case_sql = "SELECT id FROM grievances WHERE reference = 'GR-0000-0000'"
    prefix = "EXPLAIN" if database.is_postgresql else "EXPLAIN QUERY PLAN"
    lines = []
    async with database.unit_of_work() as uow:
        for sql in (queue_sql, case_sql):
            rows = (await uow.session.execute(text(f"{prefix} {sql}"))).all()
            lines.append(" | ".join(str(row[-1]) for row in rows))
    return lines


async def reset_postgres(url: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await connection.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    finally:
        await connection.close()


async def run(kind: str, url: str, sizes: list[int]) -> None:
    if kind == "postgresql":
        await reset_postgres(url)
    database = Database(url, pool_size=4)
    await upgrade_database(database)
    async with database.unit_of_work() as uow:
        await grant_role(uow, actor_id=None, user_id=MODERATOR, role=Role.MODERATOR, now=NOW)
        await uow.commit()
    desk = GrievanceDesk(
        catalogue=Catalogue(ZoneInfo("Asia/Baghdad")),
        cipher=field_encryption.configure(None),
        policy=GrievancePolicy(),
        lexicon=default_lexicon(),
        moderator_chat_id=None,
        default_language="en",
    )
    figures: dict[int, dict[str, float]] = {}
    seeded = 0
    for size in sizes:
        started = time.perf_counter()
        await seed(database, seeded, size)
        took = time.perf_counter() - started
        print(f"[{kind}] seeded {size:,} cases (+{size - seeded:,} in {took:.1f}s)")
        seeded = size
        figures[size] = await measure(database, desk, size)
        shown = ", ".join(f"{k} {v * 1000:.2f} ms" for k, v in figures[size].items())
        print(f"[{kind}] {size:>9,}: {shown}")
        if size == 100_000:
            peak, rows, elapsed = await export_memory(database)
            print(
                f"[{kind}] export of {rows:,} cases: peak memory {peak:.1f} MiB "
                f"({elapsed:.1f}s under tracemalloc, which slows it several-fold)"
            )
    small, large = sizes[0], sizes[-1]
    for key in (
        "queue_first",
        "queue_deep",
        "queue_filtered",
        "queue_previous",
        "queue_arabic_filter",
        "case",
    ):
        ratio = figures[large][key] / figures[small][key]
        print(f"[{kind}] {key} latency ratio {large:,}/{small:,}: {ratio:.2f} (target <= 2)")
    print(f"[{kind}] /stats at {large:,}: {figures[large]['stats']:.2f}s")
    for line in await plans(database):
        print(f"[{kind}] plan: {line}")
    await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--db", default="sqlite,postgresql")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    kinds = args.db.split(",")
    postgres = os.environ.get("HIWAR_BENCH_POSTGRES_URL") or os.environ.get(
        "HIWAR_TEST_POSTGRES_URL"
    )
    for kind in kinds:
        if kind == "sqlite":
            path = Path(tempfile.mkdtemp(prefix="hiwar-bench-")) / "bench.db"
            asyncio.run(run(kind, f"sqlite+aiosqlite:///{path}", sizes))
        elif postgres:
            asyncio.run(run(kind, postgres, sizes))
        else:
            print("[postgresql] skipped: set HIWAR_BENCH_POSTGRES_URL")


if __name__ == "__main__":
    main()
