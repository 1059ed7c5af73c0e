"""Flood control: a burst is answered once, politely, and nothing typed into a flow is lost."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.engines import flows
from bot.engines.flows import Completion, FlowInput, FlowRegistry, Next, Prompt, Text
from bot.members.flood import FloodGate, FloodPolicy, FloodVerdict, policy_from_settings
from bot.runtime.application import FEATURES
from bot.runtime.context import HiwarContext
from bot.runtime.replies import show_flow_reply
from storage import flows as flow_store
from storage.database import UnitOfWork
from tests.fake_telegram import FakeBotApi
from tests.members.test_onboarding_steps import text
from tests.support.harness import BotHarness

NOTES_FLOW = "test.notes"


class NotesFlow:
    """Collects every text the member sends (a stand-in for a long survey)."""

    name = NOTES_FLOW

    def first_step(self, data: dict[str, Any]) -> str:
        return "note"

    def prompt(self, step: str, data: dict[str, Any]) -> Prompt:
        return Prompt(Text("flow.use_buttons"))

    def accept(self, step: str, data: dict[str, Any], given: FlowInput) -> Next:
        return Next("note", {**data, "notes": [*data.get("notes", []), given.text]})

    async def finish(
        self, uow: UnitOfWork, user_id: int, data: dict[str, Any], now: datetime
    ) -> Completion:
        return Completion(Text("flow.cancelled"))


class NotesFeature:
    """A test-only feature module: /notes starts the flow."""

    @staticmethod
    async def start_notes(update: Update, ctx: HiwarContext) -> None:
        assert update.effective_user is not None
        async with ctx.unit_of_work() as uow:
            reply = await flows.start_flow(
                uow,
                ctx.services.flows,
                update.effective_user.id,
                NOTES_FLOW,
                ctx.services.clock.now(),
            )
            await uow.commit()
        await show_flow_reply(update, ctx, reply)

    @staticmethod
    def register(application: Application) -> None:  # type: ignore[type-arg]
        application.add_handler(CommandHandler("notes", NotesFeature.start_notes))

    @staticmethod
    def register_flows(registry: FlowRegistry, _services: object) -> None:
        registry.add(NotesFlow())


@pytest.fixture
async def notes_bot(fake_api: FakeBotApi, database_url: str) -> Any:
    harness = BotHarness(fake_api, database_url, features=(*FEATURES, NotesFeature))  # type: ignore[arg-type]
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def test_twenty_rapid_answers_get_one_slow_down_and_every_answer_is_kept(
    notes_bot: BotHarness,
) -> None:
    bot = notes_bot
    rana = bot.user(6001, "en")
    rana.command("/notes")
    assert (await rana.reply()).content == text("en", "flow.use_buttons")
    for number in range(1, 21):
        rana.send(f"note {number}")
    await bot.idle()
    slow_down = text("en", "onboarding.flood.slow_down")
    contents = [m.content for m in rana.messages()]
    assert contents.count(slow_down) == 1
    # The first eight got their usual answer, then one "slow down", then quiet.
    assert len(contents) == 1 + 8 + 1
    async with bot.db.unit_of_work() as uow:
        stored = await flow_store.load_flow(uow.session, 6001)
    assert stored is not None
    assert stored.data["notes"] == [f"note {n}" for n in range(1, 21)]

    # After a pause the member is answered again.
    rana.send("still there?")
    await bot.idle()
    assert rana.last_message().content == text("en", "flow.use_buttons")


async def test_a_member_who_waits_for_each_answer_is_never_slowed_down(bot: BotHarness) -> None:
    kamal = bot.user(6002, "en")
    for _ in range(15):
        kamal.command("/hello")
        assert (await kamal.reply()).content == text("en", "errors.unknown_command")


def test_the_gate_warns_once_per_burst_and_forgets_after_a_pause() -> None:
    gate = FloodGate(FloodPolicy(max_messages=3, window_seconds=10))
    verdicts = [gate.check(1, 100.0, message_id) for message_id in range(1, 7)]
    assert verdicts == [FloodVerdict.ALLOW] * 3 + [FloodVerdict.WARN] + [FloodVerdict.QUIET] * 2
    gate.note_warning(1, 7)
    assert gate.check(1, 101.0, 8) is FloodVerdict.QUIET  # our warning did not end the burst
    assert gate.check(1, 200.0, 9) is FloodVerdict.ALLOW  # the window has passed
    assert gate.check(1, 200.0, 11) is FloodVerdict.ALLOW  # an answer came in between
    assert gate.check(2, 100.0, 1) is FloodVerdict.ALLOW  # members are counted apart


def test_policy_comes_from_hiwar_flood_settings() -> None:
    assert policy_from_settings({}) == FloodPolicy(8, 10.0)
    assert policy_from_settings(
        {"HIWAR_FLOOD_MESSAGES": "5", "HIWAR_FLOOD_SECONDS": "30"}
    ) == FloodPolicy(5, 30.0)
    assert policy_from_settings({"HIWAR_FLOOD_MESSAGES": "many"}) == FloodPolicy(8, 10.0)
