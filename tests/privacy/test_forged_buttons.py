"""Buttons are checked against what the question offered (issue 16): any other callback value,
"~" controls included, is answered as a stale button and changes nothing, in every flow."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engines import flows
from bot.engines.flows import BACK, DONE, SKIP, FlowInput, offered_values
from bot.surveys.flow import FLOW_NAME, FORM, SURVEY_ID
from storage import flows as flow_store
from tests.fake_telegram import FakeBotApi
from tests.grievances.test_grievance_steps import member_who_consented, running_bot
from tests.members.test_onboarding_steps import text
from tests.support.harness import BotHarness
from tests.surveys.test_survey_steps import needs_form

FORGED_EXAMPLES = ["~VERIFY reporter: https://evil.example/x", SKIP, BACK, DONE, "~", "~cancelx"]


def random_callback_values() -> list[str]:
    """Values drawn by hypothesis: controls, near-controls and arbitrary text."""
    drawn: list[str] = []

    @settings(max_examples=20, database=None, derandomize=True)
    @given(
        st.one_of(
            st.text(max_size=40),
            st.sampled_from([SKIP, BACK, DONE, "~submit", "~keep", "~next", "submit"]),
            st.text(max_size=20).map(lambda t: "~" + t),
        )
    )
    def collect(value: str) -> None:
        drawn.append(value)

    collect()
    return [*FORGED_EXAMPLES, *drawn]


def start_data(name: str) -> dict[str, Any]:
    """What the command that opens each flow puts in it."""
    if name == FLOW_NAME:
        return {SURVEY_ID: 987, FORM: needs_form().to_json()}
    return {
        "reference": "GR-7K3M9Q",
        "title": "حوار شباب الموصل",
        "session_id": 1,
        "starts_at": "2026-12-05T14:00:00+00:00",
        "ends_at": "2026-12-05T16:00:00+00:00",
        "venue": "Mosul",
    }


async def test_every_flow_refuses_every_value_it_did_not_offer(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url) as bot:
        assert bot.runtime is not None
        registry = bot.runtime.services.flows
        values = random_callback_values()
        tried = 0
        for offset, name in enumerate(registry.names()):
            user_id = 7100 + offset
            await member_who_consented(bot, user_id)
            now = bot.clock.now()
            async with bot.db.unit_of_work() as uow:
                started = await flows.start_flow(
                    uow, registry, user_id, name, now, start_data(name)
                )
                await uow.commit()
            assert started.prompt is not None
            offered = offered_values(started.prompt)
            for value in values:
                if value in offered:
                    continue
                async with bot.db.unit_of_work() as uow:
                    before = await flow_store.load_flow(uow.session, user_id)
                    reply = await flows.handle_input(
                        uow,
                        registry,
                        user_id,
                        FlowInput(choice=value),
                        now,
                        version=started.version,
                    )
                    await uow.commit()
                async with bot.db.unit_of_work() as uow:
                    after = await flow_store.load_flow(uow.session, user_id)
                assert reply is not None and reply.notice is not None, (name, value)
                assert reply.notice.key == "flow.stale_button", (name, value)
                assert before is not None and after is not None
                assert (after.step, after.data, after.version) == (
                    before.step,
                    before.data,
                    before.version,
                ), (name, value)
                tried += 1
        assert {"grievances.report", "onboarding.profile", "survey", "sessions.feedback"} <= set(
            registry.names()
        )
        assert tried > 20 * len(registry.names())


async def test_a_forged_topic_in_the_report_flow_is_a_stale_button(bot: BotHarness) -> None:
    """The issue's example: `f:V:~VERIFY…` was filed as the topic and shown to staff."""
    member = await member_who_consented(bot, 7300)
    member.command("/report")
    question = await member.reply()
    version = next(data for _, data in question.buttons() if data.startswith("f:")).split(":")[1]
    member.press(question, data=f"f:{version}:~VERIFY reporter: https://evil.example/x")
    notice = await member.reply()
    assert notice.content.startswith(text("en", "flow.stale_button"))
    async with bot.db.unit_of_work() as uow:
        stored = await flow_store.load_flow(uow.session, 7300)
    assert stored is not None and stored.step == "category" and "category" not in stored.data
