"""XLSForm columns whose value is an expression (`required`, `default`), the `appearance`
values that mean something in chat, and traces and shapes answered point by point."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.engines.flows import DONE, SKIP, FlowInput, Invalid, Next
from bot.surveys.flow import KEEP, PAGE_NEXT, SUBMIT_STEP
from bot.surveys.xlsform.reading import read_xlsform
from tests.support.harness import BotHarness
from tests.surveys.test_survey_steps import add_member, stored_answers
from tests.surveys.test_xlsform_features import Walker, book

EXPRESSIONS = book(
    {
        "survey": [
            [
                "type",
                "name",
                "label::ar",
                "label::en",
                "required",
                "required_message::ar",
                "required_message::en",
                "default",
            ],
            ["integer", "age", "عمرك؟", "Your age?", "yes", "", "", ""],
            [
                "text",
                "job",
                "عملك؟",
                "Your work?",
                "${age} > 18",
                "العمل مطلوب للبالغين",
                "Adults must say",
                "",
            ],
            ["date", "visit", "تاريخ الزيارة؟", "Visit date?", "", "", "", "today()"],
            ["text", "again", "العمل مرة أخرى؟", "Work again?", "", "", "", "${job}"],
            ["integer", "next_age", "العمر بعد سنة؟", "Age next year?", "", "", "", "${age} + 1"],
            ["text", "odd", "سؤال", "A question", "basic", "", "", ""],
        ]
    }
)


def _notice(result: Invalid | None, language: str) -> str:
    assert result is not None
    return str(result.notice.variables.get(f"message_{language}", result.notice.key))


def test_required_as_an_expression_is_evaluated_at_the_question_with_its_message() -> None:
    read = read_xlsform(EXPRESSIONS)
    # `basic` cannot be read as an expression: ODK reads it as not required; a warning says so.
    assert [w.code for w in read.warnings] == ["required_unreadable"]
    walk = Walker(EXPRESSIONS)
    walk.give(text="٣٠")  # Arabic-Indic digits
    assert walk.step == "job"
    assert walk.prompt().can_skip is False and walk.prompt().text.variables["required"]
    assert _notice(walk.give(text=""), "ar") == "العمل مطلوب للبالغين"
    assert _notice(walk.give(text=" "), "en") == "Adults must say"
    walk.give(text="معلم")
    assert walk.step == "visit"

    child = Walker(EXPRESSIONS)
    child.give(text="12")
    assert child.prompt().can_skip is True and not child.prompt().text.variables["required"]
    child.give(choice=SKIP)
    assert child.step == "visit"


def test_default_as_an_expression_is_evaluated_when_the_question_is_reached() -> None:
    walk = Walker(EXPRESSIONS)
    walk.give(text="30")
    walk.give(text="نجار")
    # today() is the flow's date (2025-03-01), offered as the earlier answer.
    variables = walk.prompt().text.variables
    assert variables["previous_en"] and "2025" in variables["previous_en"]
    walk.give(choice=KEEP)
    assert walk.prompt().text.variables["previous_ar"] == "نجار"  # ${job}
    walk.give(choice=KEEP)
    assert walk.prompt().text.variables["previous_en"] == "31"  # ${age} + 1
    walk.give(text="40")
    walk.give(choice=SKIP)
    assert walk.step == SUBMIT_STEP
    answers = walk.flow.submission(walk.form, walk.data)
    assert answers["visit"] == "2025-03-01" and answers["again"] == "نجار"
    assert answers["next_age"] == "40"


def test_a_default_is_fixed_when_reached_even_if_the_answer_it_copies_changes() -> None:
    walk = Walker(EXPRESSIONS)
    walk.give(text="30")
    walk.give(text="نجار")
    walk.give(choice=KEEP)
    assert walk.data["_defaults"]["again"] == "نجار"
    walk.data["answers"]["job"] = "حداد"  # changed later (e.g. after going back)
    assert walk.prompt().text.variables["previous_ar"] == "نجار"


TRACES = book(
    {
        "survey": [
            ["type", "name", "label::ar", "label::en"],
            ["geotrace", "road", "ارسم الطريق", "Trace the road"],
            ["geoshape", "field", "حدود الحقل", "The field's boundary"],
            ["geopoint", "home", "أين البيت؟", "Where is home?"],
        ]
    }
)


def test_a_trace_and_a_shape_are_answered_point_by_point_then_done() -> None:
    walk = Walker(TRACES)
    prompt = walk.prompt()
    assert prompt.request_location and prompt.can_finish
    assert prompt.text.variables["points"] == 0
    walk.give(location=(33.3152, 44.3661))
    assert walk.step == "road" and walk.prompt().text.variables["points"] == 1
    too_few = walk.give(choice=DONE)
    assert too_few is not None and too_few.notice.key == "surveys.trace.too_few"
    walk.give(text="٣٣٫٣٢، ٤٤٫٣٧")  # Arabic-Indic digits, decimal separator and comma
    assert walk.give(text="north of the bridge") is not None
    walk.give(choice=DONE)
    assert walk.step == "field"
    walk.give(text="33.1 44.1; 33.2 44.2 35 5")  # two points at once, one with altitude
    result = walk.flow.accept(walk.step, walk.data, FlowInput(location=(33.3, 44.0)))
    assert isinstance(result, Next) and result.notice is not None
    assert result.notice.variables == {"count": 3, "minimum": 3, "kind": "geoshape"}
    walk.step, walk.data = result.step, result.data
    walk.give(choice=DONE)
    assert walk.step == "home" and not walk.prompt().can_finish
    assert walk.give(text="33.1 44.1; 33.2 44.2") is not None  # a point is one point
    walk.give(text="33.3, 44.4")
    answers = walk.flow.submission(walk.form, walk.data)
    assert answers["road"] == "33.315200 44.366100 0 0;33.320000 44.370000 0 0"
    # ODK's shape: "lat lon alt acc" points, closed on the first one.
    assert answers["field"] == (
        "33.100000 44.100000 0 0;33.200000 44.200000 35 5;"
        "33.300000 44.000000 0 0;33.100000 44.100000 0 0"
    )
    assert answers["home"] == "33.300000 44.400000 0 0"
    assert "_points" not in walk.data or not walk.data["_points"]


APPEARANCES = book(
    {
        "survey": [
            ["type", "name", "label::ar", "label::en", "appearance"],
            ["select_one town", "town", "المدينة", "Town", "minimal"],
            ["select_one town", "town2", "المدينة", "Town", ""],
            ["select_one yn", "fast", "سريع؟", "Quick?", "quick"],
            ["text", "story", "احكِ لنا", "Tell us", "multiline"],
            ["text", "short", "باختصار", "In short", ""],
            ["begin group", "school", "المدرسة", "School", "field-list"],
            ["text", "name", "اسم المدرسة", "School name", ""],
            ["integer", "km", "كم تبعد؟", "How far?", ""],
            ["end group", "", "", "", ""],
        ],
        "choices": [["list_name", "name", "label::ar", "label::en"]]
        + [["town", f"t{i}", f"مدينة {i}", f"Town {i}"] for i in range(12)]
        + [["yn", "yes", "نعم", "Yes"], ["yn", "no", "لا", "No"]],
    }
)


def _options(walk: Walker) -> list[str]:
    return [c.value for c in walk.prompt().choices if not c.value.startswith("~")]


def test_appearances_that_mean_something_in_chat() -> None:
    walk = Walker(APPEARANCES)
    # minimal: a compact keyboard (three a row, four rows a page), paged and searchable.
    minimal = walk.prompt()
    assert minimal.columns == 3 and len(_options(walk)) == 12
    assert minimal.text.variables["searchable"] is False
    walk.give(choice="t3")
    plain = walk.prompt()
    assert plain.columns == 2 and PAGE_NEXT not in {c.value for c in plain.choices}
    walk.give(choice="t4")
    # quick: one tap answers and moves on (no Done, no confirmation).
    assert walk.step == "fast" and not walk.prompt().multi
    walk.give(choice="yes")
    assert walk.step == "story"
    # multiline: a long answer is accepted, and the question says so.
    assert walk.prompt().text.variables["multiline"] is True
    walk.give(text="سطر\n" * 500)
    assert walk.step == "short" and walk.prompt().text.variables["multiline"] is False
    refused = walk.give(text="ب" * 1500)
    assert refused is not None and refused.notice.key == "surveys.flow.too_long"
    walk.give(text="قصير")
    # field-list: the section's first question lists what the section asks.
    assert walk.step == "name"
    assert walk.prompt().text.variables["intro_ar"] == ["اسم المدرسة", "كم تبعد؟"]
    walk.give(text="الرشيد")
    assert walk.step == "km" and walk.prompt().text.variables["intro_en"] == []


def test_minimal_pages_a_long_list_sooner_and_searches_it() -> None:
    content = book(
        {
            "survey": [
                ["type", "name", "label::en", "appearance"],
                ["select_one town", "town", "Town", "minimal"],
            ],
            "choices": [["list_name", "name", "label::en"]]
            + [["town", f"t{i}", f"A long town name number {i}"] for i in range(9)],
        }
    )
    walk = Walker(content)
    assert len(_options(walk)) == 4 and walk.prompt().text.variables["pages"] == 3
    walk.give(text="number 7")
    assert _options(walk) == ["t7"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_trace_through_the_bot_with_locations_and_done(bot: BotHarness) -> None:
    from bot.surveys.lifecycle import import_survey, publish_survey

    read = read_xlsform(TRACES, "traces.xlsx")
    now = datetime.now(UTC)
    async with bot.db.unit_of_work() as uow:
        summary = await import_survey(uow, read, actor_id=None, source_name="t.xlsx", now=now)
        await publish_survey(uow, summary.id, actor_id=None, now=now)
        await uow.commit()
    await add_member(bot, 9600, "ar")
    user = bot.user(9600, "ar")
    user.command(f"/start v{summary.id}")
    await bot.idle()
    user.send_location()
    await bot.idle()
    assert any("النقطة رقم" in m.content for m in user.messages()[-4:])
    user.send("33.5, 44.5")
    await bot.idle()
    user.press(user.last_message(), text="تم ✔")
    await bot.idle()
    for point in ("33.1 44.1", "33.2 44.2", "33.3 44.0"):
        user.send(point)
        await bot.idle()
    user.press(user.last_message(), text="تم ✔")
    await bot.idle()
    user.send("33.3, 44.4")
    await bot.idle()
    user.press(user.last_message(), text="📨 إرسال إجاباتي")
    await bot.idle()
    stored = await stored_answers(bot, 9600, summary.id)
    assert stored is not None
    assert stored["road"].count(";") == 1 and stored["road"].endswith(";33.500000 44.500000 0 0")
    assert stored["field"].count(";") == 3
    assert stored["field"].split(";")[0] == stored["field"].split(";")[-1]
