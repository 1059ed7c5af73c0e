"""Benchmark: Hiwar against python-telegram-bot's own ceiling (a bare echo bot), same load.

Run from the repository root::

    python bench/throughput.py [--members 500] [--registered 100000] [--database-url URL]
                               [--rounds N] [--profile FILE]

One fake Bot API (tests/fake_telegram) in this process; each bot runs in turn as a child
process on the same machine, polling it with getUpdates:

1. **Echo bot** (the framework's ceiling): a bare python-telegram-bot `Application` with the
   normal `Updater`, one handler that answers every message with one message (carrying a
   button) and one that answers every button press (`answerCallbackQuery` + one message).
2. **Hiwar** (`python -m bot`, every feature, the database of `--database-url`, default a new
   SQLite file; a PostgreSQL database given here is EMPTIED first) with `--registered`
   members already in the database and the community needs assessment
   (docs/forms/community_needs_assessment.xlsx) imported and published.

N members (`--members`) at once each go through consent (/start, agree), a complete grievance
report (/report, category, governorate, skip the area, a description, Done, urgency,
anonymous, submit) and then the survey (/survey, open it, 11 answers and submit): 25 inputs
each, every one sent only after the bot's answer to the previous one arrived. For the echo
bot the same members send the same sequence of 25 messages/presses, each after the echo.

Printed for both: inputs per second (all inputs ÷ wall time from the first input to the last
member's last answer), reply latency p50/p95 (input pushed → first message or edit to that
chat at the fake server, from its call log), and the ratio Hiwar ÷ echo; for Hiwar also its
CPU time and its peak resident memory (VmHWM). Both bots are unpaced: Hiwar runs with
HIWAR_OUTBOX_RATE=100000 and HIWAR_PER_CHAT_INTERVAL=0 (production: 30/s and 1 s per chat,
Telegram's limits), and HIWAR_FLOOD_MESSAGES=1000 (members here type faster than people).
`--rounds N` runs the pair N times in turn (echo, Hiwar, echo, Hiwar, …; a new database
each round) and prints each round's ratio and their median: on a shared
machine the speed of both bots drifts between runs, and a ratio taken from one pair
measured minutes apart is only as good as that drift.
`--profile FILE` runs Hiwar under cProfile and prints the top functions by own time.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from bot.surveys.lifecycle import import_survey, publish_survey  # noqa: E402
from bot.surveys.xlsform.reading import read_xlsform  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.migrate import upgrade_database  # noqa: E402
from storage.models import Grievance, Member, SurveyResponse  # noqa: E402
from tests.fake_telegram import FakeBotApi, SimulatedUser, TgUser  # noqa: E402
from tests.support.databases import reset_postgres  # noqa: E402
from tests.support.member_scripts import (  # noqa: E402
    CONSENT,
    REPORT,
    SURVEY,
    Answer,
    Crowd,
    Plan,
    reply_latencies,
)
from tests.support.member_scripts import Member as SimulatedMember  # noqa: E402

FORM = ROOT / "docs" / "forms" / "community_needs_assessment.xlsx"
FIRST_MEMBER = 5_000_000
FIRST_REGISTERED = 10_000_000
ECHO_FLAG = "--serve-echo"
# The path through the needs assessment that skips every conditional question.
ANSWERS = {
    "intro": Answer("next"),
    "displaced": Answer("choose", ("no",)),
    "household_size": Answer("type", text="1"),
    "priority_needs": Answer("multi", ("health",)),
    "services_rating": Answer("choose", ("fair",)),
    "feel_safe": Answer("choose", ("yes",)),
    "dialogue_interest": Answer("choose", ("no",)),
    "income": Answer("skip"),
    "comments": Answer("skip"),
    "thanks": Answer("next"),
}
# The same inputs as messages (m) and button presses (p), for the echo bot.
ECHO_SEQUENCE = "mpmpppmpppp" + "mpppmppppppppp"


# ---------------------------------------------------------------------- the echo bot (child)


def serve_echo() -> None:
    """Run the bare echo bot until SIGTERM (this script re-run with --serve-echo)."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
    from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("again", callback_data="again")]])

    async def on_message(update: Update, _context: Any) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("echo", reply_markup=keyboard)

    async def on_press(update: Update, _context: Any) -> None:
        query = update.callback_query
        assert query is not None and update.effective_chat is not None
        await query.answer()
        await update.effective_chat.send_message("pressed", reply_markup=keyboard)

    concurrency = int(os.environ.get("ECHO_CONCURRENCY", "1"))
    application = (
        Application.builder()
        .token(os.environ["BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_URL"])
        .concurrent_updates(concurrency if concurrency > 1 else False)
        .build()
    )
    application.add_handler(MessageHandler(filters.ALL, on_message))
    application.add_handler(CallbackQueryHandler(on_press))
    application.run_polling(poll_interval=0.0, timeout=1, stop_signals=(signal.SIGTERM,))


class EchoMember:
    """Sends the fixed sequence of messages and presses, each after the previous answer."""

    def __init__(self, api: FakeBotApi, user_id: int) -> None:
        self.user = SimulatedUser(api, TgUser(user_id, f"M{user_id}", language_code="ar"))
        self.api = api
        self.step = 0
        self.seen = 0
        self.pushed_at: list[float] = []

    @property
    def finished(self) -> bool:
        return self.step >= len(ECHO_SEQUENCE) and self.seen >= len(ECHO_SEQUENCE)

    def poll(self) -> None:
        messages = self.api.messages_to(self.user.chat_id)
        if len(messages) < self.step or self.step >= len(ECHO_SEQUENCE):
            self.seen = len(messages)
            return
        if ECHO_SEQUENCE[self.step] == "m":
            self.user.send(f"message {self.step}")
        else:
            self.user.press(messages[-1], data="again")
        self.pushed_at.append(time.monotonic())
        self.step += 1


async def drive_echo(api: FakeBotApi, members: int) -> tuple[float, list[float]]:
    crowd = [EchoMember(api, FIRST_MEMBER + i) for i in range(members)]
    started = time.monotonic()
    while not all(member.finished for member in crowd):
        for member in crowd:
            if not member.finished:
                member.poll()
        if time.monotonic() - started > 1800:
            raise SystemExit("echo bot: timed out")
        await asyncio.sleep(0.02)
    elapsed = time.monotonic() - started
    return elapsed, reply_latencies(api, crowd)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- running the bots


def child_env(api: FakeBotApi, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "BOT_TOKEN": api.token,
            "TELEGRAM_API_URL": api.base_url,
            "PYTHONPATH": str(ROOT),
            "LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    return env


def start_hiwar(
    api: FakeBotApi, url: str, workdir: Path, profile: str | None
) -> subprocess.Popen[bytes]:
    env = child_env(
        api,
        DATABASE_URL=url,
        DEFAULT_LANGUAGE="ar",
        HIWAR_OUTBOX_RATE="100000",
        HIWAR_PER_CHAT_INTERVAL="0",
        HIWAR_FLOOD_MESSAGES="1000",
    )
    command = [sys.executable]
    if profile:
        command += ["-m", "cProfile", "-o", profile]
    command += ["-m", "bot"]
    log = (workdir / "hiwar.log").open("ab")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_child(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_memory_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def prepare_database(url: str, registered: int) -> int:
    """Migrate, import and publish the survey, and register `registered` members in bulk."""
    if url.startswith("postgresql"):
        await reset_postgres(url)  # a scratch database: everything in it is dropped
    database = Database(url)
    try:
        await upgrade_database(database)
        now = datetime.now(UTC)
        read = read_xlsform(FORM.read_bytes(), FORM.name)
        async with database.unit_of_work() as uow:
            summary = await import_survey(uow, read, actor_id=None, source_name=FORM.name, now=now)
            await publish_survey(uow, summary.id, actor_id=None, now=now)
            await uow.commit()
        for start in range(0, registered, 10_000):
            rows = [
                {
                    "user_id": FIRST_REGISTERED + i,
                    "language": ("ar", "en")[i % 2],
                    "language_source": "chosen",
                    "consented_at": now,
                    "governorate": ("baghdad", "basra", "nineveh", "anbar")[i % 4],
                    "subscribed": True,
                    "unreachable": False,
                    "created_at": now,
                    "last_seen_at": now,
                }
                for i in range(start, min(start + 10_000, registered))
            ]
            async with database.unit_of_work() as uow:
                await uow.session.execute(insert(Member), rows)
                await uow.commit()
        return summary.id
    finally:
        await database.dispose()


async def count_results(url: str, survey_id: int) -> tuple[int, int]:
    database = Database(url)
    try:
        async with database.unit_of_work() as uow:
            reports = await uow.session.scalar(select(func.count()).select_from(Grievance))
            responses = await uow.session.scalar(
                select(func.count())
                .select_from(SurveyResponse)
                .where(
                    SurveyResponse.survey_id == survey_id,
                    SurveyResponse.submitted_at.is_not(None),
                )
            )
        return int(reports or 0), int(responses or 0)
    finally:
        await database.dispose()


async def wait_polling(api: FakeBotApi, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 120
    while not api.calls_to("getUpdates"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start (see its log)")
        await asyncio.sleep(0.1)


def calls_made(api: FakeBotApi) -> Counter[str]:
    """Bot API calls other than polling, by method."""
    return Counter(call.method for call in api.calls if call.method != "getUpdates")


class Result:
    def __init__(
        self, inputs: int, elapsed: float, latencies: list[float], calls: Counter[str]
    ) -> None:
        self.rate = inputs / elapsed
        self.inputs, self.elapsed = inputs, elapsed
        self.calls = calls
        ordered = sorted(latencies)
        self.p50 = statistics.median(ordered)
        self.p95 = ordered[int(len(ordered) * 0.95)]

    def line(self, name: str) -> str:
        return (
            f"{name:<34} {self.rate:8.1f} inputs/s  ({self.inputs} in {self.elapsed:.1f} s)  "
            f"latency p50 {self.p50 * 1000:6.1f} ms  p95 {self.p95 * 1000:7.1f} ms\n"
            f"{'':<34} Bot API calls per input: "
            + ", ".join(
                f"{method} {count / self.inputs:.2f}"
                for method, count in self.calls.most_common(4)
            )
        )


async def run_echo(members: int, concurrency: int, workdir: Path) -> Result:
    with FakeBotApi() as api:
        log = (workdir / "echo.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), ECHO_FLAG],
            env=child_env(api, ECHO_CONCURRENCY=str(concurrency)),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            await wait_polling(api, process, "the echo bot")
            elapsed, latencies = await drive_echo(api, members)
            calls = calls_made(api)
        finally:
            stop_child(process)
    return Result(members * len(ECHO_SEQUENCE), elapsed, latencies, calls)


async def run_hiwar(
    members: int,
    url: str,
    survey_id: int,
    workdir: Path,
    profile: str | None,
) -> tuple[Result, float, float, int]:
    plan = Plan(
        goals=(CONSENT, REPORT, SURVEY),
        survey_id=survey_id,
        survey_form=read_xlsform(FORM.read_bytes(), FORM.name).form,
        survey_answers=ANSWERS,
    )
    with FakeBotApi() as api:
        process = start_hiwar(api, url, workdir, profile)
        try:
            await wait_polling(api, process, "Hiwar")
            cpu_before = cpu_seconds(process.pid)
            crowd = Crowd(
                [SimulatedMember(api, FIRST_MEMBER + i, "ar", plan) for i in range(members)],
                patience=120.0,
            )
            await crowd.run(timeout=3600)
            cpu = cpu_seconds(process.pid) - cpu_before
            calls = calls_made(api)
            memory = peak_memory_mib(process.pid)
            latencies = reply_latencies(api, crowd.members)
        finally:
            stop_child(process)
    if crowd.inputs != members * len(ECHO_SEQUENCE):
        print(f"note: Hiwar members sent {crowd.inputs} inputs, {crowd.reopens} re-opens")
    return Result(crowd.inputs, crowd.elapsed, latencies, calls), cpu, memory, crowd.reopens


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--registered", type=int, default=100_000, help="members pre-inserted")
    parser.add_argument(
        "--database-url", default=None, help="default: a new SQLite file; PostgreSQL is EMPTIED"
    )
    parser.add_argument("--echo-concurrency", type=int, default=32, help="echo bot's updates")
    parser.add_argument("--profile", default=None, help="write Hiwar's cProfile stats here")
    parser.add_argument("--skip-echo", action="store_true", help="run Hiwar only")
    parser.add_argument("--rounds", type=int, default=1, help="echo and Hiwar in turn, N times")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="hiwar-throughput-"))
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; logs in {workdir}")
    ratios: list[float] = []
    for round_number in range(args.rounds):
        # A database of its own each round: each fake Bot API numbers its updates from 1.
        url = args.database_url or f"sqlite+aiosqlite:///{workdir / f'bench-{round_number}.db'}"
        started = time.monotonic()
        survey_id = await prepare_database(url, args.registered)
        prepared = time.monotonic() - started
        echo = None
        if not args.skip_echo:
            echo = await run_echo(args.members, args.echo_concurrency, workdir)
        hiwar, cpu, memory, _reopens = await run_hiwar(
            args.members,
            url,
            survey_id,
            workdir,
            args.profile,
        )
        if args.rounds > 1:
            print(f"round {round_number + 1} of {args.rounds}")
        print(f"members: {args.members} at once, {len(ECHO_SEQUENCE)} inputs each")
        if echo is not None:
            print(echo.line(f"echo bot (concurrency {args.echo_concurrency})"))
        print(hiwar.line(f"Hiwar ({url.split(':')[0].split('+')[0]})"))
        if echo is not None:
            ratios.append(hiwar.rate / echo.rate)
            print(f"ratio Hiwar / echo: {ratios[-1]:.2f}  (target >= 0.6)")
        print(
            f"Hiwar CPU: {cpu:.1f} s ({cpu / hiwar.inputs * 1000:.2f} ms per input); "
            f"peak RSS (VmHWM) {memory:.0f} MiB with {args.registered:,} members registered "
            f"(inserted in {prepared:.1f} s)"
        )
        reports, responses = await count_results(url, survey_id)
        print(f"stored: {reports} reports, {responses} submitted survey responses")
    if len(ratios) > 1:
        listed = ", ".join(f"{ratio:.2f}" for ratio in ratios)
        print(
            f"ratios Hiwar / echo by round: {listed}; "
            f"median {statistics.median(ratios):.2f}  (target >= 0.6)"
        )
    if args.profile:
        import pstats

        pstats.Stats(args.profile).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    if ECHO_FLAG in sys.argv:
        serve_echo()
    else:
        asyncio.run(main())
