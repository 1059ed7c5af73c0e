"""Two instances in webhook mode on one PostgreSQL (SPEC §2 scale-out): updates for the same
chats delivered to either at random are each handled once, in order per chat, and every
outbox message and due task goes out once."""

from __future__ import annotations

import asyncio
import random
import socket
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.services.tasks import schedule_task
from storage.database import Database
from storage.migrate import upgrade_database
from storage.models import AuditEntry
from tests.fake_telegram import FakeBotApi, TgUser, factories, post_update
from tests.support.databases import POSTGRES_SKIP_REASON, postgres_url, reset_postgres
from tests.support.effects import duplicates, out_of_order_chats, recorded_effects
from tests.support.harness import BotProcess

SECRET = "two-instances-secret-0123456789"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_healthy(port: int, process: BotProcess) -> None:
    import aiohttp

    deadline = asyncio.get_running_loop().time() + 60
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            assert asyncio.get_running_loop().time() < deadline, process.log()[-3000:]
            await asyncio.sleep(0.2)


async def test_two_webhook_instances_share_one_postgresql(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    url = postgres_url()
    if url is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    await reset_postgres(url)
    database = Database(url)
    await upgrade_database(database)
    ports = [free_port(), free_port()]
    instances = [
        BotProcess(
            fake_api,
            url,
            tmp_path / f"instance-{n}.log",
            WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
            WEBHOOK_SECRET=SECRET,
            PORT=str(port),
            HIWAR_TEST_EFFECT_DELAY="0.01",
        )
        for n, port in enumerate(ports)
    ]
    for instance in instances:
        instance.start()
    try:
        for port, instance in zip(ports, instances, strict=True):
            await wait_healthy(port, instance)
        rng = random.Random(3)
        users = [TgUser(40_000 + n, f"U{n}") for n in range(12)]
        seq = Counter[int]()
        sent_ids = []
        notices = []
        update_id = 50_000
        for _ in range(180):
            user = rng.choice(users)
            update_id += 1
            if rng.random() < 0.1:
                target = 45_000 + update_id
                notices.append(target)
                text = f"/notify {target}"
            else:
                text = f"/effect {seq[user.id]}"
                seq[user.id] += 1
                sent_ids.append(update_id)
            update = factories.text_message(user, text, update_id=update_id)
            port = rng.choice(ports)
            assert await post_update(f"http://127.0.0.1:{port}/telegram", update, SECRET) == 200
            # Telegram retries some deliveries; the other instance may get the copy.
            if rng.random() < 0.1:
                other = ports[1] if port == ports[0] else ports[0]
                await post_update(f"http://127.0.0.1:{other}/telegram", update, SECRET)

        async with database.unit_of_work() as uow:
            now_db = await uow.session.scalar(select(func.now()))
            assert now_db is not None
            for n in range(30):
                await schedule_task(
                    uow,
                    kind="test.note",
                    payload={"n": n, "chat_id": 47_000 + n},
                    due_at=now_db,
                    now=now_db,
                    dedupe_key=f"two-instances:{n}",
                )
            await uow.commit()

        deadline = asyncio.get_running_loop().time() + 120
        while True:
            effects = await recorded_effects(database)
            notices_done = all(fake_api.messages_to(t) for t in notices)
            tasks_done = all(fake_api.messages_to(47_000 + n) for n in range(30))
            if len(effects) >= len(sent_ids) and notices_done and tasks_done:
                break
            assert asyncio.get_running_loop().time() < deadline, (
                f"{len(effects)}/{len(sent_ids)} effects; "
                + instances[0].log()[-1500:]
                + instances[1].log()[-1500:]
            )
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.5)  # a duplicate would show up now

        effects = await recorded_effects(database)
        assert sorted(e.update_id for e in effects) == sorted(sent_ids)
        assert duplicates(effects) == {}
        assert out_of_order_chats(effects) == []
        for target in notices:
            assert len(fake_api.messages_to(target)) == 1
        for n in range(30):
            assert [m.text for m in fake_api.messages_to(47_000 + n)] == [f"task {n}"]
        async with database.unit_of_work() as uow:
            runs = await uow.session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "test.task_ran")
            )
        assert runs == 30
        handled_by = [
            instance.log().count("Hiwar started (webhook, postgresql)") for instance in instances
        ]
        assert handled_by == [1, 1]
    finally:
        for instance in instances:
            instance.terminate()
        await database.dispose()
