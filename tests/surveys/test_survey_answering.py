"""Members answering surveys: bad input of every kind gets a clear message and changes nothing;
back, keep and revise; closed surveys; deep links; staff commands stay invisible."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.engines.flows import public_data
from bot.members.erasure import erase_member
from bot.surveys.xlsform.reading import read_xlsform
from storage import flows as flow_store
from storage.models import SurveyAnswer, SurveyResponse
from tests.support.harness import BotHarness
from tests.surveys.test_survey_steps import (
    FEEDBACK,
    WAIT,
    Respondent,
    add_member,
    import_form,
    label,
    make_organiser,
    needs_form,
    open_from_list,
    send_workbook,
    stored_answers,
    text,
    toggle,
)

MEMBER, ORGANISER = 9201, 9202


async def test_bad_answers_get_clear_messages_and_change_nothing(bot: BotHarness) -> None:
    form = needs_form()
    survey_id = await import_form(bot)
    await add_member(bot, MEMBER, "ar")
    noor = Respondent(bot, bot.user(MEMBER, "ar"), "ar", form)
    user = noor.user
    await open_from_list(user, "ar", form.titles["ar"])
    await noor.next("intro")

    displaced = await noor.expect("displaced")
    user.send("نعم")  # typed instead of pressed
    assert (await user.reply(WAIT)).content == text("ar", "flow.use_buttons")
    asked_again = await noor.expect("displaced")
    # No dead keyboards: the question asked again, the first one lost its buttons.
    assert bot.api.get_message(displaced.chat_id, displaced.message_id).buttons() == []
    user.press(asked_again, text="نعم")
    await noor.choose("returned", "no")

    await noor.type("household_size", "كثير")
    assert (await user.reply(WAIT)).content == text("ar", "surveys.flow.not_integer")
    user.send("٤٥")
    await noor.expect("household_size")
    message = form.question("household_size").constraint_messages
    constraint = text(
        "ar", "surveys.flow.constraint", message_en=message["en"], message_ar=message["ar"]
    )
    assert (await user.reply(WAIT)).content == constraint
    user.send("٣")
    await noor.expect("household_size")

    # The button of an earlier question is stale: nothing changes, the current question shows.
    children = await noor.expect("children")
    # (Its buttons are gone; an old client may still send the press.)
    user.press(displaced, data=dict(displaced.buttons())["لا"])
    assert (await user.reply(WAIT)).content == text("ar", "flow.stale_button")
    await noor.expect("children")

    # Back to the household size: the earlier answer is shown and can be kept.
    user.press(children, text=label("ar", "flow.back"))
    household = await noor.expect("household_size")
    assert "إجابتك السابقة: \u20683\u2069" in household.content
    user.press(household, text=label("ar", "surveys.flow.keep"))
    await noor.type("children", "1")

    needs = await noor.expect("priority_needs")
    user.press(needs, text=label("ar", "flow.done"))
    assert (await user.reply(WAIT)).content == text("ar", "surveys.flow.required")
    needs = await noor.expect("priority_needs")
    for value in ("water", "health", "jobs", "housing"):
        await toggle(user, needs, form.question("priority_needs").option_label(value, "ar"))
    user.press(needs, text=label("ar", "flow.done"))
    assert "ثلاثة" in (await user.reply(WAIT)).content
    toggled = await noor.expect("priority_needs")
    await toggle(
        user, toggled, "✅ " + form.question("priority_needs").option_label("housing", "ar")
    )
    user.press(toggled, text=label("ar", "flow.done"))

    await noor.expect("water_access")
    user.send_sticker()
    assert (await user.reply(WAIT)).content == text("ar", "flow.unsupported_message")
    await noor.choose("water_access", "daily")
    await noor.expect("services_rating")
    await bot.idle()

    async with bot.db.unit_of_work() as uow:
        stored = await flow_store.load_flow(uow.session, MEMBER)
    assert stored is not None and stored.step == "services_rating"
    assert public_data(stored.data)["answers"] == {
        "displaced": "yes",
        "returned": "no",
        "household_size": "3",
        "children": "1",
        "priority_needs": "water health jobs",
        "water_access": "daily",
    }
    assert await stored_answers(bot, MEMBER, survey_id) is None


async def test_an_over_long_answer_is_refused_and_a_revision_replaces_the_response(
    bot: BotHarness,
) -> None:
    form = read_xlsform(FEEDBACK.read_bytes()).form
    survey_id = await import_form(bot, FEEDBACK)
    await add_member(bot, MEMBER, "en")
    sami = Respondent(bot, bot.user(MEMBER, "en"), "en", form)
    await open_from_list(sami.user, "en", form.titles["en"])
    await sami.choose("rating", "1")
    await sami.choose("useful", "no")
    await sami.type("improve", "x" * 5000)
    refused = await sami.user.reply(WAIT)
    assert refused.content.startswith("That answer is too long")
    assert "1,000 characters" in refused.content
    await sami.type("improve", "Shorter sessions, please.")
    await sami.choose("recommend", "yes")
    await sami.skip("learned")
    await sami.submit()
    first = await stored_answers(bot, MEMBER, survey_id)
    assert first == {
        "rating": "1",
        "useful": "no",
        "improve": "Shorter sessions, please.",
        "recommend": "yes",
    }

    # Revising: answers are pre-filled; "Keep" keeps one, a new choice replaces another.
    sami.user.command("/survey")
    listing = await sami.user.reply(WAIT)
    answered = label("en", "surveys.member.answered_button", title=form.titles["en"])
    sami.user.press(listing, text=answered)
    intro = await sami.user.reply(WAIT)
    assert intro.content == text(
        "en", "surveys.member.revising", title_en=form.titles["en"], title_ar=form.titles["ar"]
    )
    await sami.choose("rating", "4")  # the improvement question is no longer relevant
    useful = await sami.expect("useful")
    assert "Your earlier answer: No" in useful.content
    sami.user.press(useful, text=label("en", "surveys.flow.keep"))
    await sami.choose("recommend", "yes")
    await sami.type("learned", "Listening first.")
    await sami.submit(revised=True)
    assert await stored_answers(bot, MEMBER, survey_id) == {
        "rating": "4",
        "useful": "no",
        "recommend": "yes",
        "learned": "Listening first.",
    }
    async with bot.db.unit_of_work() as uow:
        rows = await uow.session.execute(select(SurveyResponse.user_id, SurveyResponse.revisions))
        responses = list(rows.tuples())
    assert responses == [(MEMBER, 1)]

    # Erasure unlinks the member; the anonymous answers stay for statistics.
    async with bot.db.unit_of_work() as uow:
        await erase_member(uow, MEMBER, bot.clock.now())
        await uow.commit()
    async with bot.db.unit_of_work() as uow:
        row = await uow.session.execute(
            select(SurveyResponse.user_id, SurveyResponse.submitted_at)
        )
        linked, submitted = row.tuples().one()
        answers = await uow.session.scalar(select(func.count()).select_from(SurveyAnswer))
    assert linked is None and submitted is not None
    assert answers == 4


async def test_closed_surveys_and_deep_links(bot: BotHarness) -> None:
    form = needs_form()
    survey_id = await import_form(bot)
    await make_organiser(bot, ORGANISER)

    # A new member follows the poster's link: consent first, then straight into the survey.
    newcomer = bot.user(MEMBER, "ar")
    newcomer.command(f"/start v{survey_id}")
    await newcomer.reply(WAIT)  # greeting
    notice = await newcomer.reply(WAIT)
    newcomer.press(notice, text=label("ar", "onboarding.consent.agree_button"))
    await newcomer.reply(WAIT)  # thanks
    intro = await newcomer.reply(WAIT)
    assert intro.content == text(
        "ar", "surveys.member.starting", title_en=form.titles["en"], title_ar=form.titles["ar"]
    )
    await Respondent(bot, newcomer, "ar", form).expect("intro")

    organiser = bot.user(ORGANISER, "en")
    organiser.command("/surveys_admin")
    listing = await organiser.reply(WAIT)
    organiser.press(listing, text=label("en", "surveys.admin.close_button", id=survey_id))
    closed = await organiser.reply(WAIT)
    assert closed.content == text(
        "en", "surveys.admin.closed", id=survey_id, title=form.titles["en"]
    )

    late = bot.user(MEMBER + 1, "en")
    await add_member(bot, MEMBER + 1, "en")
    late.command("/survey")
    assert (await late.reply(WAIT)).content == text("en", "surveys.member.none_open")
    late.command(f"/start v{survey_id}")
    assert (await late.reply(WAIT)).content == text("en", "surveys.member.closed")
    late.command("/start v99999")
    assert (await late.reply(WAIT)).content == text("en", "surveys.member.not_found")
    late.press(listing, data="svm:not-a-number")
    assert (await late.reply(WAIT)).content == text("en", "flow.stale_button_no_flow")


async def test_staff_survey_commands_are_invisible_to_members(bot: BotHarness) -> None:
    survey_id = await import_form(bot)
    await add_member(bot, MEMBER, "en")
    member = bot.user(MEMBER, "en")
    for command in (f"/results {survey_id}", "/surveys_admin"):
        member.command(command)
        assert (await member.reply(WAIT)).content == text("en", "errors.unknown_command")
    send_workbook(member)  # a member's spreadsheet is not a survey upload
    assert (await member.reply(WAIT)).content == text("en", "flow.no_flow_hint")

    await make_organiser(bot, ORGANISER)
    organiser = bot.user(ORGANISER, "en")
    for command in ("/results", "/results abc", "/results 1 2"):
        organiser.command(command)
        assert (await organiser.reply(WAIT)).content == text("en", "surveys.admin.results_usage")
    organiser.command("/results ٩٩٩")
    assert (await organiser.reply(WAIT)).content == text("en", "surveys.admin.not_found", id=999)
    organiser.command(f"/results {survey_id}")
    header = await organiser.reply(WAIT)
    assert "0 responses" in header.content
    # A file Telegram cannot serve (unknown to getFile): the organiser is told.
    send_workbook(organiser)
    assert (await organiser.reply(WAIT)).content == text("en", "surveys.admin.download_failed")
    async with bot.db.unit_of_work() as uow:
        count = await uow.session.scalar(select(func.count()).select_from(SurveyResponse))
    assert count == 0


async def test_leaving_a_survey_for_another_keeps_a_draft_to_resume(bot: BotHarness) -> None:
    needs = needs_form()
    feedback = read_xlsform(FEEDBACK.read_bytes()).form
    needs_id = await import_form(bot)
    await import_form(bot, FEEDBACK)
    await add_member(bot, MEMBER, "en")
    hana = Respondent(bot, bot.user(MEMBER, "en"), "en", needs)
    await open_from_list(hana.user, "en", needs.titles["en"])
    await hana.next("intro")
    await hana.choose("displaced", "yes")
    await hana.expect("returned")

    await open_from_list(hana.user, "en", feedback.titles["en"])
    await Respondent(bot, hana.user, "en", feedback).expect("rating")

    back = await open_from_list(hana.user, "en", needs.titles["en"])
    assert back.content == text(
        "en", "surveys.member.resuming", title_en=needs.titles["en"], title_ar=needs.titles["ar"]
    )
    await hana.choose("returned", "yes")
    await hana.type("household_size", "2")
    await hana.expect("children")
    await bot.idle()
    async with bot.db.unit_of_work() as uow:
        stored = await flow_store.load_flow(uow.session, MEMBER)
    assert stored is not None
    assert public_data(stored.data)["answers"] == {
        "displaced": "yes",
        "returned": "yes",
        "household_size": "2",
    }
    assert await stored_answers(bot, MEMBER, needs_id) is None
