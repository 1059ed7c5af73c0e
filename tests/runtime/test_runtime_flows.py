"""The flow engine (SPEC §2): state in the database at every step, so a restart resumes."""

from __future__ import annotations

from sqlalchemy import select

from bot.runtime.application import FEATURES
from storage import outbox
from storage.models import AuditEntry, FlowState
from tests.fake_telegram import FakeBotApi
from tests.support import effect_feature
from tests.support.harness import BotHarness


async def test_a_flow_interrupted_by_a_restart_resumes_with_earlier_answers(
    fake_api: FakeBotApi, database_url: str
) -> None:
    harness = BotHarness(fake_api, database_url, features=(*FEATURES, effect_feature))
    await harness.start()
    try:
        member = harness.user(80_001, language_code="en")
        member.command("/testflow")
        await member.reply()
        member.send("Layla")
        await member.reply()  # asks the number
        await harness.restart()

        member.send("abc")  # junk: refused, nothing lost
        refusal = await member.reply()
        assert refusal.text == "Please choose one of the buttons below."
        await member.reply()  # the question again
        member.send("٤٢")  # Arabic-Indic digits
        choice_prompt = await member.reply()
        async with harness.db.unit_of_work() as uow:
            state = await uow.session.get(FlowState, 80_001)
            assert state is not None and state.step == "colour"
            assert state.data["name"] == "Layla" and state.data["age"] == 42

        await harness.restart()
        member.press(choice_prompt, text="Basra")  # the value "blue"
        await member.reply()
        async with harness.db.unit_of_work() as uow:
            done = (
                await uow.session.scalars(
                    select(AuditEntry).where(AuditEntry.action == "test.flow_done")
                )
            ).one()
            leftover = await uow.session.get(FlowState, 80_001)
            assert done.details == {"name": "Layla", "age": 42, "colour": "blue"}
            assert leftover is None
    finally:
        await harness.stop()


async def test_a_button_from_an_earlier_question_changes_nothing(
    fake_api: FakeBotApi, database_url: str
) -> None:
    harness = BotHarness(fake_api, database_url, features=(*FEATURES, effect_feature))
    await harness.start()
    try:
        member = harness.user(80_002, language_code="en")
        member.command("/testflow")
        await member.reply()
        member.send("Omar")
        await member.reply()
        member.send("30")
        first_choice = await member.reply()
        back = next(data for _text, data in first_choice.buttons() if data.endswith(":~back"))
        member.press(first_choice, data=back)  # back to the number question
        await member.reply()
        member.press(first_choice, data=first_choice.buttons()[0][1])  # stale button
        stale = await member.reply()
        assert (
            stale.text == "That button belongs to an earlier question. Here is where you are now:"
        )
        async with harness.db.unit_of_work() as uow:
            state = await uow.session.get(FlowState, 80_002)
            assert state is not None and state.step == "age"
            assert "colour" not in state.data
    finally:
        await harness.stop()


async def test_the_message_showing_a_question_is_noted_whoever_sends_it(
    fake_api: FakeBotApi, database_url: str
) -> None:
    """The id of the message that shows the current question is noted with its delivery
    result: by the reply lane right after the commit, and by the outbox sender when the
    reply was committed but only sent after a restart (no callback is needed for that)."""
    harness = BotHarness(fake_api, database_url, features=(*FEATURES, effect_feature))
    await harness.start()
    try:
        member = harness.user(80_003, language_code="en")
        member.command("/testflow")
        await member.reply()
        member.send("Layla")
        asked = await member.reply()  # the number, sent by the reply lane
        await harness.idle()
        async with harness.db.unit_of_work() as uow:
            state = await uow.session.get(FlowState, 80_003)
            assert state is not None and state.prompt_message_id == asked.message_id
            version = state.version

        await harness.stop()
        # As if the process had died after committing the question and before sending it.
        async with harness.db.unit_of_work() as uow:
            await outbox.enqueue(
                uow.session,
                chat_id=80_003,
                method="sendMessage",
                payload={
                    "text": "How old are you?",
                    "parse_mode": "HTML",
                    outbox.PROMPT_FIELD: {"user": 80_003, "version": version},
                },
                now=harness.clock.now(),
                priority=100,
            )
            await uow.commit()
        await harness.start()
        resent = await member.reply()
        await harness.idle()
        async with harness.db.unit_of_work() as uow:
            state = await uow.session.get(FlowState, 80_003)
            assert state is not None and state.version == version
            assert state.prompt_message_id == resent.message_id != asked.message_id
    finally:
        await harness.stop()
