"""A form written with Arabic labels under each header spelling organisations use
(`label::Arabic`, `label::Arabic (ar)`, `label::العربية (ar)`, `label::ar`, and a plain `label`
with `default_language`) is uploaded to the real bot in chat, published, and answered by an
Arabic and an English member: each sees the questions, hints, choices and constraint messages
in their own language, and `start`/`end` are stored as Kobo records them."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.surveys.lifecycle import publish_survey
from storage.models import Survey
from tests.support.harness import BotHarness
from tests.surveys.test_survey_steps import WAIT, add_member, label, make_organiser, stored_answers
from tests.surveys.test_xlsform_features import book

ORGANISER = 93_500
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# (Arabic header language, English header language, settings rows); "" is a plain column.
SPELLINGS = {
    "Arabic": ("Arabic", "English", None),
    "Arabic (ar)": ("Arabic (ar)", "English (en)", None),
    "العربية (ar)": ("العربية (ar)", "English (en)", None),
    "ar": ("ar", "en", None),
    "plain label + default_language": (
        "",
        "English (en)",
        [["form_title", "default_language"], ["سلامة الحي", "Arabic (ar)"]],
    ),
}
ARABIC = {
    "safe": "هل تشعر بالأمان في حيّك؟",
    "safe_hint": "أجب بصدق، لا أحد يرى اسمك",
    "yes": "نعم",
    "no": "لا",
    "age": "كم عمرك؟",
    "age_message": "العمر بين ١٥ و٩٩",
    "street": "ما الذي يحتاجه شارعك في ${town}؟",
    "town": "ما اسم بلدتك؟",
}
ENGLISH = {
    "safe": "Do you feel safe in your neighbourhood?",
    "safe_hint": "Answer honestly, nobody sees your name",
    "yes": "Yes",
    "no": "No",
    "age": "How old are you?",
    "age_message": "Age between 15 and 99",
    "street": "What does your street in ${town} need?",
    "town": "What is the name of your town?",
}


def column(kind: str, language: str) -> str:
    return f"{kind}::{language}" if language else kind


def spelled_form(arabic: str, english: str, settings: list[list[str]] | None) -> bytes:
    def both(kind: str) -> list[str]:
        return [column(kind, arabic), column(kind, english)]

    def texts(key: str) -> list[str]:
        return [ARABIC[key], ENGLISH[key]]

    sheets = {
        "survey": [
            [
                "type",
                "name",
                *both("label"),
                *both("hint"),
                "constraint",
                *both("constraint_message"),
                "required",
            ],
            ["start", "start", "", "", "", "", "", "", "", ""],
            ["end", "end", "", "", "", "", "", "", "", ""],
            ["select_one yn", "safe", *texts("safe"), *texts("safe_hint"), "", "", "", "yes"],
            [
                "integer",
                "age",
                *texts("age"),
                "",
                "",
                ". >= 15 and . <= 99",
                *texts("age_message"),
                "yes",
            ],
            ["text", "town", *texts("town"), "", "", "", "", "", "yes"],
            ["text", "street", *texts("street"), "", "", "", "", "", "yes"],
        ],
        "choices": [
            ["list_name", "name", *both("label")],
            ["yn", "yes", *texts("yes")],
            ["yn", "no", *texts("no")],
        ],
    }
    if settings is not None:
        sheets["settings"] = settings
    return book(sheets)


async def upload_and_publish(bot: BotHarness, content: bytes) -> int:
    await make_organiser(bot, ORGANISER)
    organiser = bot.user(ORGANISER, "ar")
    organiser.upload_document("سلامة.xlsx", content, XLSX)
    imported = await organiser.reply(WAIT)
    async with bot.db.unit_of_work() as uow:
        survey = (await uow.session.scalars(select(Survey))).one()
        survey_id = survey.id
        await publish_survey(uow, survey_id, actor_id=ORGANISER, now=bot.clock.now())
        await uow.commit()
    assert "#" in imported.content or str(survey_id) in imported.content
    return survey_id


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("spelling", list(SPELLINGS))
async def test_an_arabic_form_under_each_header_spelling_runs_in_chat(
    bot: BotHarness, spelling: str
) -> None:
    survey_id = await upload_and_publish(bot, spelled_form(*SPELLINGS[spelling]))
    for user_id, language, words in ((9701, "ar", ARABIC), (9702, "en", ENGLISH)):
        await add_member(bot, user_id, language)
        member = bot.user(user_id, language)
        member.command(f"/start v{survey_id}")
        safe = await member.reply(WAIT)
        while words["safe"] not in safe.content:  # the survey's introduction comes first
            safe = await member.reply(WAIT)
        assert words["safe_hint"] in safe.content
        assert {words["yes"], words["no"]} <= set(safe.button_texts())
        member.press(safe, text=words["yes"])
        age = await member.reply(WAIT)
        assert words["age"] in age.content
        member.send("٧")  # too young: the form's own message, in the member's language
        refused = await member.reply(WAIT)
        assert words["age_message"] in refused.content, refused.content
        member.send("٣٤")
        town = await member.reply(WAIT)
        while words["town"] not in town.content:
            town = await member.reply(WAIT)
        member.send("الموصل")
        street = await member.reply(WAIT)
        # `${town}` is replaced by the answer.
        before, after = words["street"].split("${town}")
        assert before in street.content and after in street.content, street.content
        assert "الموصل" in street.content and "${" not in street.content
        member.send("إنارة")
        review = await member.reply(WAIT)
        member.press(review, text=label(language, "surveys.flow.submit"))
        await member.reply(WAIT)
        await bot.idle()
        answers = await stored_answers(bot, user_id, survey_id)
        assert answers is not None
        assert answers["safe"] == "yes" and answers["age"] == "34"
        assert answers["town"] == "الموصل" and answers["street"] == "إنارة"
        kobo_moment = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+03:00"  # Asia/Baghdad
        assert re.fullmatch(kobo_moment, answers["start"]), answers["start"]
        assert re.fullmatch(kobo_moment, answers["end"]), answers["end"]
        assert answers["start"] <= answers["end"]
