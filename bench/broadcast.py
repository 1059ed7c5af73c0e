"""Benchmark an announcement to many members against Telegram's rate limit.

Run from the repository root::

    python bench/broadcast.py [--recipients N] [--limit R] [--database-url URL] [--profile F]

What it does, in one run:

* starts the fake Bot API (``tests/fake_telegram``) enforcing a global limit of R message
  sends per sliding second (default 300), and the real bot (``python -m bot`` entry point
  used by the child-process tests) as a child process paced to the same rate;
* puts N members (default 10,000) in the database, languages and governorates mixed;
* measures a member's direct reply latency while the bot is idle: 20 ``/cancel`` commands, one
  after the other, from the moment the update is pushed to the moment the reply reaches the
  fake server (its call log);
* an organiser sends the announcement through ``/broadcast`` (as a person would) and confirms;
  while it is going out, the same member sends 20 more ``/cancel`` commands;
* prints the achieved delivery rate ÷ the limit (target ≥ 0.95), the 429s provoked (target 0)
  and the reply latency during the broadcast relative to the idle bot.

``--profile F`` runs the bot under cProfile and writes the statistics to F (then prints the
top functions by cumulative time). Nothing is asserted; this only prints.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.clock import SystemClock  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.migrate import upgrade_database  # noqa: E402
from tests.broadcasts.test_broadcast_support import (  # noqa: E402
    add_members,
    compose,
    crowd,
    label,
    make_organiser,
    member_row,
)
from tests.fake_telegram import FakeBotApi, SimulatedUser, TgUser  # noqa: E402
from tests.support.databases import reset_postgres  # noqa: E402

ORGANISER = 900
TALKER = 901  # a member who uses the bot while the announcement goes out
PROBES = 20
ARABIC = "أسبوع اللاعنف يبدأ يوم السبت في كل المحافظات."
ENGLISH = "Non-violence week starts on Saturday in every governorate."


def start_bot(
    api: FakeBotApi, url: str, limit: float, workdir: Path, profile: str | None
) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        {
            "BOT_TOKEN": api.token,
            "TELEGRAM_API_URL": api.base_url,
            "DATABASE_URL": url,
            "HIWAR_TICK_SECONDS": "0.2",
            "HIWAR_POLL_TIMEOUT": "1",
            "HIWAR_OUTBOX_RATE": str(limit),
            "HIWAR_PER_CHAT_INTERVAL": "0",
            "HIWAR_IDLE_POLL": "0.2",
            "PYTHONPATH": str(ROOT),
            "LOG_LEVEL": "WARNING",
        }
    )
    command = [sys.executable]
    if profile:
        command += ["-m", "cProfile", "-o", profile]
    command.append(str(ROOT / "tests" / "support" / "run_bot.py"))
    log = (workdir / "bot.log").open("ab")
    return subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)


async def reply_latency(api: FakeBotApi, member: SimulatedUser) -> float:
    """Seconds from pushing `/cancel` to the bot's answer arriving at the fake server."""
    before = len(api.messages_to(member.chat_id))
    pushed = time.monotonic()
    member.command("/cancel")
    await api.wait_for(lambda: len(api.messages_to(member.chat_id)) > before, timeout=60)
    answered = [
        call.at
        for call in api.calls_to("sendMessage")
        if call.ok and int(call.params["chat_id"]) == member.chat_id and call.at >= pushed
    ]
    return min(answered) - pushed


async def probe(api: FakeBotApi, member: SimulatedUser) -> list[float]:
    latencies = []
    for _ in range(PROBES):
        latencies.append(await reply_latency(api, member))
        await asyncio.sleep(0.1)
    return latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def member_sends(api: FakeBotApi) -> list[float]:
    return sorted(
        call.at
        for call in api.calls
        if call.method in ("sendMessage", "sendPhoto", "sendDocument")
        and call.ok
        and int(call.params["chat_id"]) not in (ORGANISER, TALKER)
    )


async def run(recipients: int, limit: float, url: str | None, profile: str | None) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="hiwar-bench-"))
    url = url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    if url.startswith("postgresql"):
        await reset_postgres(url)  # a scratch database: everything in it is dropped
    database = Database(url)
    await upgrade_database(database)
    now = SystemClock().now()
    await make_organiser(database, ORGANISER, now)
    await add_members(database, [member_row(TALKER, now, language="en", subscribed=False)])
    for start in range(0, recipients, 5000):
        await add_members(database, crowd(min(5000, recipients - start), now, 100_000 + start))

    with FakeBotApi() as api:
        api.set_rate_limit(limit)
        bot = start_bot(api, url, limit, workdir, profile)
        try:
            await api.wait_for(lambda: bool(api.calls_to("getUpdates")), timeout=60)
            talker = SimulatedUser(api, TgUser(TALKER, "Member", language_code="en"))
            organiser = SimulatedUser(api, TgUser(ORGANISER, "Organiser", language_code="en"))
            await reply_latency(api, talker)  # warm-up
            idle = await probe(api, talker)

            draft = await compose(api, organiser, "en", arabic=ARABIC, english=ENGLISH)
            cpu_before, wall_before = cpu_seconds(bot.pid), time.monotonic()
            organiser.press(draft["card"], text=label("en", "broadcasts.buttons.send"))
            await api.wait_for(lambda: len(member_sends(api)) >= limit, timeout=120)
            busy = await probe(api, talker)
            probes_done = len(member_sends(api))
            await organiser.reply(timeout=recipients / limit * 4 + 120)  # the final report
            sends = member_sends(api)
            cpu_used, wall = cpu_seconds(bot.pid) - cpu_before, time.monotonic() - wall_before
        finally:
            bot.terminate()
            bot.wait(timeout=60)
        rate_limited = api.rate_limited_count
    await database.dispose()

    achieved = (len(sends) - 1) / (sends[-1] - sends[0])
    idle_median, busy_median = statistics.median(idle), statistics.median(busy)
    print(f"recipients: {recipients:,}  limit: {limit:g}/s  database: {url.split(':')[0]}")
    print(f"delivered: {len(sends):,} in {sends[-1] - sends[0]:.2f} s")
    print(
        f"achieved rate: {achieved:.1f}/s  ratio to limit: {achieved / limit:.3f}"
        "  (target >= 0.95)"
    )
    print(
        f"bot process CPU during the broadcast: {cpu_used:.1f} s over {wall:.1f} s "
        f"({cpu_used / wall:.0%} of one core; {cpu_used / len(sends) * 1000:.2f} ms per message)"
    )
    print(f"429s provoked: {rate_limited}  (target 0)")
    print(
        f"direct reply latency idle: median {idle_median * 1000:.1f} ms, "
        f"max {max(idle) * 1000:.1f} ms"
    )
    print(
        f"direct reply latency during the broadcast: median {busy_median * 1000:.1f} ms, "
        f"max {max(busy) * 1000:.1f} ms  (probes ended after {probes_done:,} deliveries)"
    )
    print("  during, each (ms):", " ".join(f"{value * 1000:.0f}" for value in busy))
    print(f"latency ratio during / idle (median): {busy_median / idle_median:.2f}")
    if profile:
        import pstats

        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--limit", type=float, default=300.0)
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: a new SQLite file; a PostgreSQL database given here is emptied first",
    )
    parser.add_argument("--profile", default=None, help="write cProfile statistics of the bot")
    args = parser.parse_args()
    asyncio.run(run(args.recipients, args.limit, args.database_url, args.profile))


if __name__ == "__main__":
    main()
