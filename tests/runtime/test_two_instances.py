"""Two instances in webhook mode on one PostgreSQL (SPEC §2 scale-out): updates for the same
chats delivered to either at random are each handled once, in order per chat, and every
outbox message and due task goes out once; so do a real announcement and session reminders
(issues 8 and 9)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import socket
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.engines.tasks import schedule_task
from bot.sessions.lifecycle import get_session, session_variables
from bot.sessions.organising import create_session
from bot.sessions.registration import register_for_session
from storage.database import Database
from storage.migrate import upgrade_database
from storage.models import AuditEntry, Member, OutboxMessage, RuntimeLease
from tests.broadcasts.test_broadcast_support import (
    CATALOGUE,
    add_members,
    broadcast_row,
    compose,
    crowd,
    label,
    make_organiser,
    member_row,
    messages_per_member,
    outbox_statuses,
    text,
    wait_until,
)
from tests.fake_telegram import FakeBotApi, SimulatedUser, TgUser, factories, post_update
from tests.sessions.test_sessions_support import draft
from tests.support.databases import POSTGRES_SKIP_REASON, postgres_url, reset_postgres
from tests.support.effects import duplicates, out_of_order_chats, recorded_effects
from tests.support.harness import BotProcess

SECRET = "two-instances-secret-0123456789"
STARTED = "Hiwar started (webhook, postgresql)"


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


@dataclass(frozen=True)
class Instance:
    port: int
    process: BotProcess

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram"


async def fresh_postgres() -> tuple[str, Database]:
    """The PostgreSQL test database, emptied and migrated (the test skips without one)."""
    url = postgres_url()
    if url is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    await reset_postgres(url)
    database = Database(url)
    await upgrade_database(database)
    return url, database


@contextlib.asynccontextmanager
async def two_instances(
    api: FakeBotApi, url: str, tmp_path: Path, **env: str
) -> AsyncIterator[list[Instance]]:
    """Two webhook-mode bot processes on one database, healthy; stopped (SIGTERM) after."""
    ports = [free_port(), free_port()]
    instances = [
        Instance(
            port,
            BotProcess(
                api,
                url,
                tmp_path / f"instance-{n}.log",
                WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
                WEBHOOK_SECRET=SECRET,
                PORT=str(port),
                **env,
            ),
        )
        for n, port in enumerate(ports)
    ]
    for instance in instances:
        instance.process.start()
    try:
        for instance in instances:
            await wait_healthy(instance.port, instance.process)
        yield instances
    finally:
        for instance in instances:
            instance.process.terminate()


def logs_tail(instances: list[Instance], chars: int = 1500) -> str:
    return "".join(
        f"\n--- instance on port {i.port} ---\n{i.process.log()[-chars:]}" for i in instances
    )


async def test_two_webhook_instances_share_one_postgresql(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    url, database = await fresh_postgres()
    try:
        async with two_instances(
            fake_api, url, tmp_path, HIWAR_TEST_EFFECT_DELAY="0.01"
        ) as instances:
            ports = [instance.port for instance in instances]
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
                    command = f"/notify {target}"
                else:
                    command = f"/effect {seq[user.id]}"
                    seq[user.id] += 1
                    sent_ids.append(update_id)
                update = factories.text_message(user, command, update_id=update_id)
                port = rng.choice(ports)
                status = await post_update(f"http://127.0.0.1:{port}/telegram", update, SECRET)
                assert status == 200
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
                    f"{len(effects)}/{len(sent_ids)} effects; " + logs_tail(instances)
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
            assert [i.process.log().count(STARTED) for i in instances] == [1, 1]
    finally:
        await database.dispose()


# --- a real announcement and real session reminders with both instances running -----------

TELEGRAM_RATE = 300  # messages a second the fake Telegram accepts, all instances together
# HIWAR_OUTBOX_RATE is the bot's overall rate: on PostgreSQL one instance at a time (a lease)
# sends the outbox, so each instance is given the whole limit, not a share. If both sent at
# once, this would provoke 429s.
OUTBOX_RATE = TELEGRAM_RATE
ORGANISER = 900
MEMBERS = 600
REGISTRANTS = 50
FIRST_REGISTRANT = 200_000
REMINDERS = (180, 120)  # minutes before the start
ARABIC = "أسبوع الحوار: لقاء كل مساء في المركز المجتمعي."
ENGLISH = "Dialogue week: every evening at the community centre."


class WebhookUser(SimulatedUser):
    """A user whose updates reach the bot as through a load balancer: each POSTed to a
    random instance, one after the other, as Telegram delivers a chat's updates."""

    def __init__(self, api: FakeBotApi, user: TgUser, instances: list[Instance]) -> None:
        super().__init__(api, user)
        self.instances = instances
        self.rng = random.Random(user.id)
        self.handled_by = Counter[int]()
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._ids = itertools.count(80_000)

    def _push(self, update: dict[str, Any]) -> int:
        queued = {**update, "update_id": next(self._ids)}
        self._queue.put_nowait(queued)
        return int(queued["update_id"])

    async def deliver(self) -> None:
        while True:
            update = await self._queue.get()
            instance = self.rng.choice(self.instances)
            status = await post_update(instance.webhook, update, SECRET)
            assert status == 200, f"update {update['update_id']}: HTTP {status}"
            self.handled_by[instance.port] += 1


@contextlib.asynccontextmanager
async def delivering(user: WebhookUser) -> AsyncIterator[None]:
    pump = asyncio.create_task(user.deliver())
    try:
        yield
    finally:
        pump.cancel()
        (outcome,) = await asyncio.gather(pump, return_exceptions=True)
        if not isinstance(outcome, asyncio.CancelledError):
            raise AssertionError(f"delivering the organiser's updates failed: {outcome!r}")


async def session_with_due_reminders(database: Database) -> dict[int, list[str]]:
    """A published session starting in about 90 minutes, created three hours ago with
    reminders 3 h and 2 h before the start, so both are due now, and REGISTRANTS confirmed
    places, committed together (a reminder decides who is told when it runs). Returns the
    reminder texts each registrant should receive, rendered as the bot renders them."""
    async with database.unit_of_work() as uow:
        db_now = await uow.session.scalar(select(func.now()))
        assert db_now is not None
        created = db_now - timedelta(hours=3)
        session = await create_session(
            uow,
            draft(
                created,
                capacity=REGISTRANTS + 10,
                starts_in=timedelta(hours=4, minutes=30),
                reminders=REMINDERS,
            ),
            actor_id=None,
            publish=True,
            now=created,
        )
        codes = {}
        for n in range(REGISTRANTS):
            user_id = FIRST_REGISTRANT + n
            ticket = await register_for_session(
                uow,
                session_id=session.id,
                user_id=user_id,
                language="ar" if n % 2 else "en",
                now=created + timedelta(minutes=1),
            )
            assert ticket.status == "confirmed"
            codes[user_id] = ticket.code
        view = await get_session(uow, session.id)
        await uow.commit()
    assert all(view.starts_at - timedelta(minutes=m) <= db_now for m in REMINDERS)
    assert view.starts_at > db_now + timedelta(minutes=30)
    expected = {}
    for n, (user_id, code) in enumerate(codes.items()):
        language = "ar" if n % 2 else "en"
        expected[user_id] = sorted(
            CATALOGUE.render(
                language,
                "sessions.notice.reminder",
                code=code,
                hours=minutes // 60,
                **session_variables(view, language, CATALOGUE),
            )
            for minutes in REMINDERS
        )
    return expected


async def outbox_rows_of(database: Database, chat_ids: list[int]) -> list[tuple[Any, ...]]:
    """Evidence for a duplicate: every outbox row of those chats."""
    async with database.unit_of_work() as uow:
        rows = await uow.session.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.chat_id,
                OutboxMessage.dedupe_key,
                OutboxMessage.status,
                OutboxMessage.attempts,
                OutboxMessage.sent_message_id,
                OutboxMessage.error,
            )
            .where(OutboxMessage.chat_id.in_(chat_ids))
            .order_by(OutboxMessage.id)
        )
        return [tuple(row) for row in rows.tuples()]


def busiest_second(api: FakeBotApi) -> int:
    """The most sends the fake Telegram saw in any one second (sliding), for the log."""
    times = sorted(call.at for call in api.calls if call.method.startswith("send"))
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


async def test_two_instances_send_one_announcement_and_one_reminder_each(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    """Issues 8 and 9: with two instances on PostgreSQL racing for the same tasks and the
    same outbox, each member gets the announcement once, the blocked are counted, the final
    report comes once, each registrant gets each reminder once, and Telegram's overall
    limit is never exceeded although each instance is configured with all of it."""
    url, database = await fresh_postgres()
    try:
        async with database.unit_of_work() as uow:
            now = await uow.session.scalar(select(func.now()))
            assert now is not None
        await make_organiser(database, ORGANISER, now)
        members = crowd(MEMBERS, now)
        registrants = [
            member_row(
                FIRST_REGISTRANT + n, now, language="ar" if n % 2 else "en", subscribed=False
            )
            for n in range(REGISTRANTS)
        ]
        await add_members(database, members + registrants)
        blocked = {row["user_id"] for row in members[::50]}  # 2%
        for user_id in blocked:
            fake_api.block_chat(user_id)
        fake_api.set_rate_limit(TELEGRAM_RATE)

        async with two_instances(
            fake_api, url, tmp_path, HIWAR_OUTBOX_RATE=str(OUTBOX_RATE)
        ) as instances:
            organiser = WebhookUser(
                fake_api, TgUser(ORGANISER, "Organiser", language_code="en"), instances
            )
            async with delivering(organiser):
                card = (await compose(fake_api, organiser, "en", arabic=ARABIC, english=ENGLISH))[
                    "card"
                ]
                broadcast = await broadcast_row(database)
                # Both become due together: the instances race for reminders and batches.
                reminders = await session_with_due_reminders(database)
                organiser.press(card, text=label("en", "broadcasts.buttons.send"))
                report = await organiser.reply(timeout=60)

                def reminded() -> bool:
                    return all(len(fake_api.messages_to(uid)) >= 2 for uid in reminders)

                await wait_until(reminded, 30, "the session reminders")
                await asyncio.sleep(1.5)  # a duplicate would show up by now
            async with database.unit_of_work() as uow:
                sender = await uow.session.scalar(select(RuntimeLease.owner))
            print(
                f"\norganiser's updates per instance: {dict(organiser.handled_by)}; "
                f"outbox sender: {sender}; "
                f"busiest second at Telegram: {busiest_second(fake_api)} sends"
            )

            received = messages_per_member(fake_api, "/unsubscribe", ORGANISER)
            twice = sorted(uid for uid, count in received.items() if count > 1)
            assert not twice, (
                f"announcement sent more than once to {len(twice)} members: "
                f"{await outbox_rows_of(database, twice[:5])}" + logs_tail(instances)
            )
            assert set(received) == {row["user_id"] for row in members} - blocked
            assert report.content == text(
                "en",
                "broadcasts.report.done",
                broadcast_id=broadcast.id,
                total=MEMBERS,
                sent=MEMBERS - len(blocked),
                blocked=len(blocked),
                failed=0,
            )
            # The report comes once as a message, and the card is edited to it once.
            reports = [
                m
                for m in fake_api.messages_to(ORGANISER)
                if m.message_id != card.message_id and m.content == report.content
            ]
            assert reports == [report]
            final_edits = [
                call
                for call in fake_api.calls_to("editMessageText")
                if call.ok
                and int(call.params["message_id"]) == card.message_id
                and call.params["text"] == report.content
            ]
            assert len(final_edits) == 1
            final_card = fake_api.get_message(ORGANISER, card.message_id)
            assert final_card is not None and final_card.content == report.content
            assert await outbox_statuses(database, broadcast.id) == {
                "sent": MEMBERS - len(blocked),
                "unreachable": len(blocked),
            }
            async with database.unit_of_work() as uow:
                marked = await uow.session.scalars(
                    select(Member.user_id).where(Member.unreachable)
                )
                assert set(marked) == blocked

            wrong = {
                uid: [m.content for m in fake_api.messages_to(uid)]
                for uid, texts in reminders.items()
                if sorted(m.content for m in fake_api.messages_to(uid)) != texts
            }
            assert not wrong, (
                f"{len(wrong)} registrants did not get each reminder exactly once: "
                f"{dict(itertools.islice(wrong.items(), 3))} "
                f"{await outbox_rows_of(database, list(wrong)[:3])}" + logs_tail(instances)
            )
            assert fake_api.rate_limited_count == 0
            assert [i.process.log().count(STARTED) for i in instances] == [1, 1]
    finally:
        await database.dispose()
