"""Cancel never throws answers away silently (issue 20): "✖ Cancel" in a survey asks first and
offers "stop for now" (everything kept, resumed later with /survey) apart from "discard my
answers". An answered question shows its answer and keeps no buttons."""

from __future__ import annotations

from storage import flows as flow_store
from tests.support.harness import BotHarness
from tests.surveys.test_survey_steps import (
    WAIT,
    Respondent,
    add_member,
    import_form,
    label,
    needs_form,
    open_from_list,
    stored_answers,
    text,
)

MEMBER = 9301


async def test_stop_for_now_keeps_every_answer_and_discard_forgets_them(bot: BotHarness) -> None:
    form = needs_form()
    survey_id = await import_form(bot)
    await add_member(bot, MEMBER, "ar")
    noor = Respondent(bot, bot.user(MEMBER, "ar"), "ar", form)
    user = noor.user
    await open_from_list(user, "ar", form.titles["ar"])
    await noor.next("intro")
    displaced = await noor.expect("displaced")
    user.press(displaced, text="نعم")

    # The answered question now shows the answer and has no buttons left.
    returned = await noor.expect("returned")
    answered = bot.api.get_message(displaced.chat_id, displaced.message_id)
    assert answered is not None and answered.buttons() == []
    assert "<b>إجابتك:</b> \u2068نعم\u2069" in answered.content

    # Cancel asks first; "keep answering" changes nothing.
    user.press(returned, text=label("ar", "flow.cancel"))
    ask = await user.reply(WAIT)
    assert ask.content == text("ar", "flow.cancel_ask")
    user.press(ask, text=label("ar", "flow.continue_button"))
    again = await noor.expect("returned")
    asked = bot.api.get_message(ask.chat_id, ask.message_id)
    assert asked is not None and asked.buttons() == []
    user.press(again, text="لا")
    await noor.type("household_size", "٤")

    # Stop for now: the answers are kept and /survey resumes at the question left.
    user.press(await noor.expect("children"), text=label("ar", "flow.cancel"))
    ask = await user.reply(WAIT)
    user.press(ask, text=label("ar", "flow.pause_button"))
    assert (await user.reply(WAIT)).content == text("ar", "flow.paused")
    await bot.idle()
    async with bot.db.unit_of_work() as uow:
        assert await flow_store.load_flow(uow.session, MEMBER) is None
    user.command("/survey")
    listing = await user.reply(WAIT)
    user.press(listing, text=form.titles["ar"])
    resuming = await user.reply(WAIT)
    assert resuming.content.startswith("📝")
    assert "إجاباتك السابقة محفوظة" in resuming.content
    children = await noor.expect("children")
    await bot.idle()
    async with bot.db.unit_of_work() as uow:
        stored = await flow_store.load_flow(uow.session, MEMBER)
        assert stored is not None
        assert stored.data["answers"]["household_size"] == "4"
        assert stored.data["answers"]["displaced"] == "yes"

    # Discard: nothing of this pass is kept, and nothing was ever submitted.
    user.press(children, text=label("ar", "flow.cancel"))
    ask = await user.reply(WAIT)
    user.press(ask, text=label("ar", "flow.discard_button"))
    assert (await user.reply(WAIT)).content == text("ar", "flow.discarded")
    await bot.idle()
    assert await stored_answers(bot, MEMBER, survey_id) is None
    user.command("/survey")
    listing = await user.reply(WAIT)
    user.press(listing, text=form.titles["ar"])
    starting = await user.reply(WAIT)
    assert "سؤال واحد في كل مرة" in starting.content
    await noor.next("intro")
    await bot.idle()


async def test_a_note_and_a_typed_answer_lose_their_buttons_without_an_answer_line(
    bot: BotHarness,
) -> None:
    form = needs_form()
    await import_form(bot)
    await add_member(bot, MEMBER + 1, "en")
    sara = Respondent(bot, bot.user(MEMBER + 1, "en"), "en", form)
    user = sara.user
    await open_from_list(user, "en", form.titles["en"])
    intro = await sara.expect("intro")
    user.press(intro, text=label("en", "surveys.flow.next"))
    displaced = await sara.expect("displaced")
    left = bot.api.get_message(intro.chat_id, intro.message_id)
    assert left is not None and left.buttons() == [] and "<b>Your answer:</b>" not in left.content
    user.press(displaced, text="No")
    household = await sara.expect("household_size")
    user.send("3")  # typed: the question the engine remembers loses its buttons
    await sara.expect("children")
    typed = bot.api.get_message(household.chat_id, household.message_id)
    assert (
        typed is not None and typed.buttons() == [] and "<b>Your answer:</b>" not in typed.content
    )
    await bot.idle()
