"""Benchmark: members answering a 15-question survey concurrently, against a bare echo bot.

Run from the repository root::

    python bench/survey.py [--members 200] [--responses 10000] [--database-url URL]

The default (200 members, about two minutes on SQLite) keeps a run short; `--members 1000`
is the full scenario of issue #5 (several minutes).

In one run, against the same in-process fake Bot API (tests/fake_telegram):

1. **Echo baseline**: a bare python-telegram-bot Application (normal Updater polling, one
   MessageHandler that replies) gets the same conversation shape: every member sends 17
   messages one after another, each waiting for the reply.
2. **Hiwar**: the real runtime (all FEATURES, SQLite file by default) with a generated
   15-question XLSForm (select_one, integer, decimal, date, text; two `relevant` rules, three
   constraints). Every member opens it with `/start v<ID>`, answers 15 questions and submits:
   17 updates each, each waiting for the next question.
3. **Results**: 10,000 synthetic responses are written, then the time to build the results
   (query + disaggregation) and the report (one PNG chart per choice question, CSV, XLSX) is
   measured.

4. **Long forms** (every run; `--long-form` measures only these): a generated 500-question
   form with groups, repeats and calculations against a 20-question one of the same shape
   (import time, and CPU seconds per answer through the flow engine, the survey flow and the
   database), and their ratio (target <= 2).

Prints updates per second for both bots and their ratio (Hiwar ÷ echo), and the long forms'
figures. Nothing is asserted.
Hiwar's outbound pace (30 messages/s in production, Telegram's limit) is lifted here, since
the fake server has no limit and the echo bot has none either.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from openpyxl import Workbook  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.ext import Application, MessageHandler, filters  # noqa: E402

from bot.engines.disclosure import wording  # noqa: E402
from bot.runtime.application import HiwarRuntime, Tuning  # noqa: E402
from bot.surveys.album import results_album  # noqa: E402
from bot.surveys.lifecycle import import_survey, publish_survey  # noqa: E402
from bot.surveys.presentation import group_labels  # noqa: E402
from bot.surveys.report import render_report  # noqa: E402
from bot.surveys.results import build_results  # noqa: E402
from bot.surveys.xlsform.reading import read_xlsform  # noqa: E402
from messages import Catalogue  # noqa: E402
from storage.models import Member, SurveyAnswer, SurveyResponse  # noqa: E402
from tests.fake_telegram import FakeBotApi, SimulatedUser, TgUser  # noqa: E402
from tests.support.harness import settings_for  # noqa: E402

STEPS = 17  # /start v<ID>, 15 answers, submit
FIRST_USER = 700_000
# (type, name, English label, relevant, constraint, the answer every member gives)
QUESTIONS: list[tuple[str, str, str, str, str, str]] = [
    ("select_one yn", "q01", "Do you live here?", "", "", "yes"),
    ("integer", "q02", "Household size?", "", ". >= 1 and . <= 30", "5"),
    ("select_one rate", "q03", "Water supply?", "", "", "poor"),
    ("select_one rate", "q04", "Electricity?", "${q01} = 'yes'", "", "fair"),
    ("decimal", "q05", "Monthly income?", "", ". >= 0", "350.5"),
    ("select_one yn", "q06", "Displaced?", "", "", "no"),
    ("date", "q07", "Since when?", "${q06} = 'yes'", "", "2024-01-01"),
    ("select_one rate", "q08", "Health care?", "", "", "good"),
    ("text", "q09", "Biggest problem?", "", "string-length(.) <= 200", "الماء"),
    ("select_one rate", "q10", "Schools?", "", "", "fair"),
    ("select_one yn", "q11", "Feel safe?", "", "", "yes"),
    ("integer", "q12", "Children?", "", "", "2"),
    ("select_one rate", "q13", "Roads?", "", "", "poor"),
    ("select_one yn", "q14", "Join a dialogue?", "", "", "yes"),
    ("text", "q15", "Anything else?", "", "", "شكرا"),
    ("select_one yn", "q16", "Contact you later?", "", "", "no"),
]
CHOICES = [
    ("yn", "yes", "Yes", "نعم"),
    ("yn", "no", "No", "لا"),
    *[
        (("rate", n, n.title(), a))
        for n, a in (("poor", "سيئة"), ("fair", "مقبولة"), ("good", "جيدة"))
    ],
]
ANSWERED = [q for q in QUESTIONS if q[1] != "q07"]  # q07 is skipped (q06 = no): 15 asked


def bench_form() -> bytes:
    book = Workbook()
    survey = book.active
    assert survey is not None
    survey.title = "survey"
    survey.append(
        [
            "type",
            "name",
            "label::English (en)",
            "label::Arabic (ar)",
            "required",
            "relevant",
            "constraint",
        ]
    )
    for kind, name, label, relevant, constraint, _ in QUESTIONS:
        survey.append([kind, name, label, f"{label} (ع)", "yes", relevant, constraint])
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label::English (en)", "label::Arabic (ar)"])
    for row in CHOICES:
        choices.append(list(row))
    settings = book.create_sheet("settings")
    settings.append(["form_title", "form_id"])
    settings.append(["Bench survey", "bench"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


Ready = Callable[[Any], bool]
Finished = Callable[[Any], bool]


class Driver:
    """Members that each send their next input once the bot has answered the previous one.

    One loop looks at every member's chat, so 1,000 members cost one polling task, not 1,000.
    `ready(message)` says the bot's last message asks for the next input; `finished(message)`
    that the member is done.
    """

    def __init__(
        self,
        api: FakeBotApi,
        members: int,
        next_input: Callable[[SimulatedUser, int, Any], None],
        ready: Ready,
        finished: Finished,
    ) -> None:
        self.api = api
        self.users = [
            SimulatedUser(api, TgUser(FIRST_USER + i, f"M{i}", language_code="ar"))
            for i in range(members)
        ]
        self.next_input, self.ready, self.finished = next_input, ready, finished

    async def run(self, timeout: float) -> tuple[int, float]:
        members = len(self.users)
        steps = [1] * members
        answered_id = [0] * members
        started = time.perf_counter()
        for user in self.users:
            self.next_input(user, 0, None)
        deadline = started + timeout
        pending = set(range(members))
        while pending:
            for index in list(pending):
                user = self.users[index]
                messages = self.api.messages_to(user.chat_id)
                if not messages or messages[-1].message_id <= answered_id[index]:
                    continue
                last = messages[-1]
                if steps[index] >= STEPS:
                    if self.finished(last):
                        pending.discard(index)
                    continue
                if self.ready(last):
                    answered_id[index] = last.message_id
                    self.next_input(user, steps[index], last)
                    steps[index] += 1
            if time.perf_counter() > deadline:
                raise SystemExit(f"timed out: {members - len(pending)}/{members} finished")
            await asyncio.sleep(0.02)
        return members * STEPS, time.perf_counter() - started


async def run_echo(api: FakeBotApi, members: int) -> float:
    async def echo(update: Update, _context: Any) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "?")

    application = Application.builder().token(api.token).base_url(api.base_url).build()
    application.add_handler(MessageHandler(filters.ALL, echo))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        driver = Driver(
            api,
            members,
            lambda user, step, _m: user.send(f"message {step}"),
            ready=lambda _m: True,
            finished=lambda m: m.content == f"message {STEPS - 1}",
        )
        updates, elapsed = await driver.run(timeout=600)
        await application.updater.stop()
        await application.stop()
    return updates / elapsed


def hiwar_input(survey_id: int) -> Callable[[SimulatedUser, int, Any], None]:
    def next_input(user: SimulatedUser, step: int, last: Any) -> None:
        if step == 0:
            user.command(f"/start v{survey_id}")
            return
        if step == STEPS - 1:
            user.press(last, data=_data_ending(last, ":~submit"))
            return
        kind, _name, _label, _relevant, _constraint, answer = ANSWERED[step - 1]
        if kind.startswith("select_one"):
            user.press(last, data=_data_ending(last, f":{answer}"))
        else:
            user.send(answer)

    return next_input


def _data_ending(message: Any, suffix: str) -> str:
    for _label, data in message.buttons():
        if data and data.endswith(suffix):
            return str(data)
    raise SystemExit(f"no button {suffix!r} on {message.content[:80]!r}")


async def prepare(runtime: HiwarRuntime, members: int) -> int:
    assert runtime.database is not None
    now = datetime.now(UTC)
    read = read_xlsform(bench_form(), "bench.xlsx")
    async with runtime.database.unit_of_work() as uow:
        summary = await import_survey(uow, read, actor_id=None, source_name="bench", now=now)
        await publish_survey(uow, summary.id, actor_id=None, now=now)
        await uow.session.execute(
            insert(Member),
            [
                {
                    "user_id": FIRST_USER + i,
                    "language": "ar",
                    "language_source": "choice",
                    "consented_at": now,
                    "governorate": ("baghdad", "basra", "nineveh")[i % 3],
                    "gender": ("female", "male")[i % 2],
                    "age_group": "25_34",
                    "subscribed": True,
                    "unreachable": False,
                    "created_at": now,
                    "last_seen_at": now,
                }
                for i in range(members)
            ],
        )
        await uow.commit()
    return summary.id


async def run_hiwar(
    api: FakeBotApi, database_url: str, members: int, concurrency: int, pool_size: int
) -> tuple[float, int, HiwarRuntime]:
    tuning = Tuning(
        tick_seconds=1.0,
        poll_timeout=1,
        outbox_rate=100_000.0,
        per_chat_interval=0.0,
        idle_poll_seconds=0.2,
        concurrency=concurrency,
        pool_size=pool_size,
    )
    runtime = HiwarRuntime(settings_for(api, database_url), tuning=tuning)
    await runtime.start()
    survey_id = await prepare(runtime, members)
    driver = Driver(
        api,
        members,
        hiwar_input(survey_id),
        ready=lambda m: any(data.startswith("f:") for _label, data in m.buttons() if data),
        finished=lambda m: m.content.startswith("✅"),
    )
    updates, elapsed = await driver.run(timeout=1800)
    return updates / elapsed, survey_id, runtime


async def time_results(
    runtime: HiwarRuntime, survey_id: int, responses: int
) -> tuple[float, float]:
    assert runtime.database is not None and runtime.services is not None
    now = datetime.now(UTC)
    async with runtime.database.unit_of_work() as uow:
        row = {
            "survey_id": survey_id,
            "user_id": None,
            "started_at": now,
            "submitted_at": now,
            "revisions": 0,
        }
        rows = [{**row, "response_uid": secrets.token_hex(16)} for _ in range(responses)]
        result = await uow.session.execute(
            insert(SurveyResponse).returning(SurveyResponse.id), rows
        )
        ids = [row[0] for row in result]
        answers = [
            {"response_id": rid, "name": name, "value": answer}
            for rid in ids
            for _k, name, _l, _r, _c, answer in ANSWERED
        ]
        for start in range(0, len(answers), 20_000):
            await uow.session.execute(insert(SurveyAnswer), answers[start : start + 20_000])
        await uow.commit()
    catalogue: Catalogue = runtime.services.catalogue
    started = time.perf_counter()
    async with runtime.database.unit_of_work() as uow:
        results = await build_results(uow, survey_id)
    built = time.perf_counter() - started
    labels = group_labels(catalogue, "ar")
    results_album(results, catalogue, "ar", labels)
    render_report(results, "ar", labels, words=wording(catalogue, "ar"))
    return built, time.perf_counter() - started


def long_form(questions: int) -> bytes:
    """A generated form of about `questions` questions: groups of ten (each with a group
    `relevant`), a calculation after every fifth question, and a repeat (`repeat_count` 3) of
    five questions with a sum over its instances in every fifth group."""
    book = Workbook()
    survey = book.active
    assert survey is not None
    survey.title = "survey"
    survey.append(
        [
            "type",
            "name",
            "label::English (en)",
            "label::Arabic (ar)",
            "relevant",
            "calculation",
            "repeat_count",
            "constraint",
        ]
    )
    written = 0
    group = 0
    while written < questions:
        group += 1
        survey.append(
            [
                "begin group",
                f"g{group}",
                f"Part {group}",
                f"الجزء {group}",
                "${q1} != 'no'" if written else "",
                "",
                "",
                "",
            ]
        )
        for _ in range(10):
            if written >= questions:
                break
            written += 1
            if written % 2:
                survey.append(
                    [
                        "select_one yn",
                        f"q{written}",
                        f"Question {written}?",
                        f"السؤال {written}؟",
                        "",
                        "",
                        "",
                        "",
                    ]
                )
            else:
                survey.append(
                    [
                        "integer",
                        f"q{written}",
                        f"How many {written}?",
                        f"كم {written}؟",
                        "",
                        "",
                        "",
                        ". >= 0 and . <= 100",
                    ]
                )
            if written % 5 == 0:
                survey.append(
                    [
                        "calculate",
                        f"c{written}",
                        "",
                        "",
                        "",
                        f"if(${{q{written}}} > 2, 1, 0) + coalesce(${{q{written}}}, 0)",
                        "",
                        "",
                    ]
                )
        if group % 5 == 0 and written + 5 <= questions:
            survey.append(
                ["begin repeat", f"r{group}", f"Person {group}", f"فرد {group}", "", "", "3", ""]
            )
            for _ in range(5):
                written += 1
                survey.append(
                    [
                        "integer",
                        f"q{written}",
                        f"Age {written}?",
                        f"العمر {written}؟",
                        "",
                        "",
                        "",
                        "",
                    ]
                )
            survey.append(["end repeat", "", "", "", "", "", "", ""])
            survey.append(["calculate", f"s{group}", "", "", "", f"sum(${{q{written}}})", "", ""])
        survey.append(["end group", "", "", "", "", "", "", ""])
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label::English (en)", "label::Arabic (ar)"])
    choices.append(["yn", "yes", "Yes", "نعم"])
    choices.append(["yn", "no", "No", "لا"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def cpu_per_answer(
    runtime: HiwarRuntime, content: bytes, user_id: int, answers: int
) -> tuple[float, float, int]:
    """Import time, and CPU seconds per answer over the first `answers` answers (engine,
    flow and storage, one member)."""
    from bot.engines import flows
    from bot.engines.flows import FlowInput
    from bot.surveys.lifecycle import open_survey_for_member

    assert runtime.database is not None and runtime.services is not None
    registry = runtime.services.flows
    started = time.perf_counter()
    read = read_xlsform(content, "long.xlsx")
    imported = time.perf_counter() - started
    now = datetime.now(UTC)
    async with runtime.database.unit_of_work() as uow:
        summary = await import_survey(uow, read, actor_id=None, source_name="long", now=now)
        await publish_survey(uow, summary.id, actor_id=None, now=now)
        await uow.commit()
    async with runtime.database.unit_of_work() as uow:
        opened = await open_survey_for_member(uow, registry, user_id, summary.id, now)
        await uow.commit()
    prompt = opened.reply.prompt
    cpu = time.process_time()
    given = 0
    while prompt is not None and given < answers:
        options = [c.value for c in prompt.choices if not c.value.startswith("~")]
        controls = [c.value for c in prompt.choices if c.value.startswith("~")]
        if options:
            answer = FlowInput(choice="yes" if "yes" in options else options[0])
        elif controls and not prompt.can_skip:
            answer = FlowInput(choice=controls[0])
        else:
            answer = FlowInput(text="3")
        async with runtime.database.unit_of_work() as uow:
            reply = await flows.handle_input(uow, registry, user_id, answer, datetime.now(UTC))
            await uow.commit()
        assert reply is not None and reply.notice is None, reply
        prompt = reply.prompt
        given += 1
    return imported, (time.process_time() - cpu) / max(given, 1), given


async def long_forms(url: str) -> None:
    with FakeBotApi() as api:
        runtime = HiwarRuntime(settings_for(api, url))
        await runtime.start()
        try:
            small = await cpu_per_answer(runtime, long_form(20), 800_001, 20)
            large = await cpu_per_answer(runtime, long_form(500), 800_002, 200)
        finally:
            await runtime.stop()
    for questions, (imported, per_answer, given) in ((20, small), (500, large)):
        print(
            f"{questions}-question form: import {imported:.2f} s, CPU per answer "
            f"{per_answer * 1000:.2f} ms over {given} answers"
        )
    print(f"CPU per answer, 500 ÷ 20 questions: {large[1] / small[1]:.2f} (target <= 2)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=200, help="1000 for the full run")
    parser.add_argument("--responses", type=int, default=10_000)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--concurrency", type=int, default=64, help="chats handled at once")
    parser.add_argument("--pool-size", type=int, default=None, help="default: 10 SQLite, 40 PG")
    parser.add_argument(
        "--long-form", action="store_true", help="only: import time and CPU per answer, 500 vs 20"
    )
    args = parser.parse_args()
    if args.long_form:
        with tempfile.TemporaryDirectory() as directory:
            await long_forms(args.database_url or f"sqlite+aiosqlite:///{directory}/long.db")
        return
    with tempfile.TemporaryDirectory() as directory:
        url = args.database_url or f"sqlite+aiosqlite:///{directory}/bench.db"
        with FakeBotApi() as api:
            echo_rate = await run_echo(api, args.members)
        with FakeBotApi() as api:
            pool = args.pool_size or (10 if url.startswith("sqlite") else 40)
            hiwar_rate, survey_id, runtime = await run_hiwar(
                api, url, args.members, args.concurrency, pool
            )
            try:
                built, total = await time_results(runtime, survey_id, args.responses)
            finally:
                await runtime.stop()
    print(f"members: {args.members}, updates each: {STEPS} ({args.members * STEPS} updates)")
    print(f"echo bot (bare python-telegram-bot): {echo_rate:8.1f} updates/s")
    print(f"Hiwar survey flow ({url.split(':')[0]}): {hiwar_rate:8.1f} updates/s")
    print(f"ratio Hiwar / echo: {hiwar_rate / echo_rate:.2f}")
    print(
        f"results for {args.responses} responses: query and counts {built:.2f} s, "
        f"with charts, CSV and XLSX {total:.2f} s"
    )
    with tempfile.TemporaryDirectory() as directory:  # and the long forms, every run
        await long_forms(args.database_url or f"sqlite+aiosqlite:///{directory}/long.db")


if __name__ == "__main__":
    asyncio.run(main())
