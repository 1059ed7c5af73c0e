"""Fuzzing the running bot with generated updates (issue 9, SPEC §8).

Thousands of updates — text in any script, over-long text, every media type, edited and
forwarded messages, group and channel updates, random and forged callback data, staff
commands with junk arguments from non-staff — go through the real application. Afterwards:
no handler failed, nobody without a role changed anything staff own, and every message a
member saw was in that member's language.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, inspect, select, text

from storage.models import AuditEntry, InboxUpdate, Member, StaffRole
from tests.fake_telegram import FakeBotApi, TgChat, TgUser, factories
from tests.support.harness import BotHarness

ADMIN_ID = 7_000_001
STAFF_GROUP = -100_777_000
OTHER_GROUP = -100_888_000
USERS = [TgUser(72_000 + n, f"Fuzz{n}", language_code="ar" if n % 2 else "en") for n in range(6)]
CONSENTED = {user.id for user in USERS[:4]}
STAFF_TABLES = ("staff_roles", "dialogue_sessions", "surveys", "broadcasts")
ARABIC_LETTER = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
LATIN_LETTER = re.compile(r"[A-Za-z]")
ISOLATED = re.compile("\u2068[^\u2069]*\u2069")
TAG = re.compile(r"<[^>]+>")
NOISE = re.compile(r"(https?://\S+|/[a-z_]+|GR-[0-9A-Z-]+|@\w+|t\.me/\S+)")

CALLBACK_PREFIXES = [
    "f:",
    "f:1:",
    "f:99999:~back",
    "f:0:~done",
    "consent:",
    "consent:show:",
    "consent:no",
    "consent:yes:xx:",
    "menu:",
    "menu:sessions",
    "menu:report",
    "lang:",
    "lang:fr",
    "erase:",
    "erase:yes",
    "settings:",
    "ses:",
    "ses:r:1:1",
    "ses:r:999999:0",
    "gcase:",
    "grv:",
    "svy:",
    "sv:",
    "brd:",
    "bc:",
    "adm:",
    "mod:",
    "q:",
    "case:",
    "audit:",
]
JUNK_ARGUMENTS = [
    "",
    "123",
    "٢٥",
    "-1",
    "99999999999999999999",
    "GR-0000-0000",
    "gr-abcd-efgh",
    "admin",
    "moderator 1",
    "<b>x</b>",
    "' OR 1=1 --",
    "\u202e\u2066",
    "x" * 300,
]


@dataclass(frozen=True)
class Action:
    user: int
    kind: str
    value: str = ""
    extra: str = ""


def commands_of(harness: BotHarness) -> list[str]:
    assert harness.runtime is not None and harness.runtime.application is not None
    from telegram.ext import CommandHandler

    names: set[str] = set()
    for handlers in harness.runtime.application.handlers.values():
        for handler in handlers:
            if isinstance(handler, CommandHandler):
                names |= set(handler.commands)
    return sorted(names)


any_text = st.one_of(
    st.text(max_size=200),
    st.text(alphabet="ابتثجحخدذرزسشصضطظعغفقكلمنهوي ٠١٢٣٤٥٦٧٨٩ؤئءةى", max_size=80),
    st.sampled_from(["x" * 4096, "ب" * 5000, "😀" * 50, "\u0000\u200f", "   ", "٣٠"]),
)


def actions(commands: list[str]) -> st.SearchStrategy[list[Action]]:
    user = st.sampled_from([u.id for u in USERS])
    one = st.one_of(
        st.builds(Action, user, st.just("text"), any_text),
        st.builds(
            Action,
            user,
            st.just("command"),
            st.sampled_from(commands),
            st.one_of(st.sampled_from(JUNK_ARGUMENTS), st.text(max_size=30)),
        ),
        st.builds(
            Action,
            user,
            st.just("callback"),
            st.one_of(
                st.text(max_size=40),
                st.builds(
                    lambda p, s: (p + s)[:64],
                    st.sampled_from(CALLBACK_PREFIXES),
                    st.text(alphabet="0123456789:~abc", max_size=12),
                ),
            ).filter(lambda d: not re.fullmatch(r"lang:(ar|en)|consent:yes:(ar|en):.*", d)),
        ),
        st.builds(
            Action,
            user,
            st.sampled_from(
                ["voice", "photo", "sticker", "location", "contact", "document", "video"]
            ),
        ),
        st.builds(Action, user, st.just("edited"), any_text),
        st.builds(Action, user, st.just("forwarded"), any_text),
        st.builds(Action, user, st.just("group"), st.sampled_from(["/report", "/start", "hi"])),
        st.builds(
            Action, user, st.just("staff_group"), st.sampled_from(commands), st.just("GR-X")
        ),
        st.builds(Action, user, st.just("channel"), any_text),
    )
    return st.lists(one, min_size=20, max_size=80)


def push(api: FakeBotApi, action: Action) -> None:
    user = next(u for u in USERS if u.id == action.user)
    if action.kind == "text":
        api.push_update(factories.text_message(user, action.value or "."))
    elif action.kind == "command":
        api.push_update(factories.text_message(user, f"/{action.value} {action.extra}".strip()))
    elif action.kind == "callback":
        message = {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": user.id, "type": "private", "first_name": user.first_name},
            "from": api.bot_user,
            "text": "؟" if user.language_code == "ar" else "?",
        }
        api.push_update(factories.callback_query(user, action.value or "x", message))
    elif action.kind in {"voice", "photo", "sticker", "location", "contact", "document", "video"}:
        builder = getattr(factories, f"{action.kind}_message")
        api.push_update(builder(user))
    elif action.kind == "edited":
        api.push_update(factories.edited_text_message(user, 1, action.value or "."))
    elif action.kind == "forwarded":
        api.push_update(factories.forwarded_text_message(user, action.value or "."))
    elif action.kind == "group":
        chat = TgChat(OTHER_GROUP, type="supergroup", title="Neighbourhood")
        api.push_update(factories.text_message(user, action.value, chat=chat))
    elif action.kind == "staff_group":
        chat = TgChat(STAFF_GROUP, type="supergroup", title="Staff")
        api.push_update(factories.text_message(user, f"/{action.value} {action.extra}", chat=chat))
    elif action.kind == "channel":
        chat = TgChat(-100_999_000, type="channel", title="News")
        api.push_update(factories.channel_post(chat, action.value or "."))


def visible_letters(message_text: str) -> str:
    content = ISOLATED.sub(" ", html.unescape(TAG.sub(" ", message_text)))
    return NOISE.sub(" ", content)


def in_language(message_text: str, language: str) -> bool:
    content = visible_letters(message_text)
    has_arabic = bool(ARABIC_LETTER.search(content))
    has_latin = bool(LATIN_LETTER.search(content))
    if not has_arabic and not has_latin:
        return True
    return has_arabic if language == "ar" else not has_arabic


async def staff_table_counts(harness: BotHarness) -> dict[str, int]:
    async with harness.db.engine.connect() as connection:
        names = set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
        counts = {}
        for table in STAFF_TABLES:
            if table in names:
                counts[table] = int(
                    (await connection.execute(text(f"SELECT COUNT(*) FROM {table}"))).scalar() or 0
                )
        return counts


@pytest.fixture
async def fuzz_bot(fake_api: FakeBotApi, database_url: str) -> AsyncIterator[BotHarness]:
    harness = BotHarness(
        fake_api, database_url, ADMIN_IDS=str(ADMIN_ID), MODERATOR_CHAT_ID=str(STAFF_GROUP)
    )
    await harness.start()
    async with harness.db.unit_of_work() as uow:
        now = harness.clock.now()
        for user in USERS:
            if user.id in CONSENTED:
                uow.session.add(
                    Member(
                        user_id=user.id,
                        language=user.language_code,
                        language_source="telegram",
                        consented_at=now,
                        created_at=now,
                        last_seen_at=now,
                        governorate="anbar",
                    )
                )
        await uow.commit()
    try:
        yield harness
    finally:
        await harness.stop()


FUZZ_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)


async def test_generated_updates_break_nothing_and_change_nothing_they_may_not(
    fuzz_bot: BotHarness,
) -> None:
    commands = commands_of(fuzz_bot)
    before = await staff_table_counts(fuzz_bot)
    examples: list[list[Action]] = []

    @FUZZ_SETTINGS
    @given(st.data())
    def draw(data: Any) -> None:
        examples.append(data.draw(actions(commands)))

    draw()
    for example in examples:  # one example at a time, as a conversation would go
        for action in example:
            push(fuzz_bot.api, action)
        await fuzz_bot.idle(timeout=300)
    assert sum(len(example) for example in examples) >= 1000

    async with fuzz_bot.db.unit_of_work() as uow:
        failed = await uow.session.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.status == "failed")
        )
        staff = set(
            (await uow.session.execute(select(StaffRole.user_id, StaffRole.role))).tuples()
        )
        fuzz_audit = list(
            await uow.session.scalars(
                select(AuditEntry.action).where(AuditEntry.actor_id.in_([u.id for u in USERS]))
            )
        )
    assert failed == 0, "a handler raised on generated input"
    assert staff == {(ADMIN_ID, "admin")}
    assert fuzz_audit == [], f"unauthorised users changed staff records: {fuzz_audit}"
    assert await staff_table_counts(fuzz_bot) == before

    checked = 0
    problems = []
    generic_errors = {"Sorry, something went wrong", "حدث خطأ"}
    for user in USERS:
        for message in fuzz_bot.api.messages_to(user.id):
            content = message.text or message.caption or ""
            checked += 1
            if any(marker in content for marker in generic_errors):
                problems.append((user.id, "error message", content[:80]))
            if not in_language(content, user.language_code or "ar"):
                problems.append((user.id, user.language_code, content[:120]))
    assert problems == [], problems[:10]
    assert checked >= 300, f"only {checked} replies to check: the fuzzing did not reach the bot"


def test_the_language_check_can_fail() -> None:
    assert in_language("مرحبا بك", "ar") and in_language("Welcome", "en")
    assert not in_language("Welcome", "ar")
    assert not in_language("مرحبا بك", "en")
    assert in_language("Your reference: \u2068GR-AB12-CD34\u2069 مرحبا", "ar")
    assert in_language("Reference \u2068مرحبا\u2069 received", "en")
