"""Forms written here with Arabic labels, under every header spelling organisations use, run
through the survey flow: groups, repeats, calculations, piping, cascading and long choice
lists, locations and media. One of them runs through the real bot as well."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook

from bot.engines.flows import FlowInput, Invalid, Media, Next, Prompt
from bot.surveys.flow import (
    AGAIN,
    ENOUGH,
    FORM,
    NEXT,
    PAGE_NEXT,
    SUBMIT_STEP,
    SURVEY_ID,
    SurveyFlow,
    fold,
)
from bot.surveys.xlsform.form import QuestionType
from bot.surveys.xlsform.reading import read_xlsform
from tests.support.harness import BotHarness
from tests.surveys.test_survey_steps import WAIT, add_member, stored_answers


def book(sheets: dict[str, list[list[Any]]]) -> bytes:
    workbook = Workbook()
    first = True
    for name, rows in sheets.items():
        sheet = workbook.active if first else workbook.create_sheet(name)
        assert sheet is not None
        sheet.title = name
        first = False
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


HEADERS = [
    ("label::Arabic", "label::English"),
    ("label::Arabic (ar)", "label::English (en)"),
    ("label::العربية (ar)", "label"),
    ("label::ar", "label::en"),
]


@pytest.mark.parametrize(("arabic", "english"), HEADERS)
def test_arabic_labels_under_every_header_spelling(arabic: str, english: str) -> None:
    content = book(
        {
            "survey": [
                ["type", "name", arabic, english, "hint::" + arabic.split("::")[1]],
                ["select_one yn", "safe", "هل تشعر بالأمان؟", "Do you feel safe?", "أجب بصدق"],
            ],
            "choices": [["list_name", "name", arabic, english], ["yn", "yes", "نعم", "Yes"]],
        }
    )
    read = read_xlsform(content, "أمان.xlsx")
    question = read.form.question("safe")
    assert question.labels == {"ar": "هل تشعر بالأمان؟", "en": "Do you feel safe?"}
    assert question.hints["ar"] == "أجب بصدق"
    assert question.options[0].labels == {"ar": "نعم", "en": "Yes"}
    assert read.form.titles["ar"] == "أمان"  # no form_title: the file name
    missing = [w.details["language"] for w in read.warnings if w.code == "language_missing"]
    # A plain `label` has no language of its own: it is what English readers see, with a note.
    assert missing == ([] if "::" in english else ["en"])


def test_a_plain_label_with_default_language_arabic_and_no_english_warns() -> None:
    content = book(
        {
            "survey": [["type", "name", "label"], ["text", "town", "ما اسم بلدتك؟"]],
            "settings": [["form_title", "default_language"], ["استبيان", "Arabic (ar)"]],
        }
    )
    read = read_xlsform(content)
    assert read.form.question("town").labels == {"ar": "ما اسم بلدتك؟", "en": "ما اسم بلدتك؟"}
    assert read.form.titles == {"ar": "استبيان", "en": "استبيان"}
    assert [(w.code, w.details["language"]) for w in read.warnings] == [("language_missing", "en")]


HOUSEHOLD = book(
    {
        "survey": [
            [
                "type",
                "name",
                "label::Arabic (ar)",
                "label::English (en)",
                "relevant",
                "calculation",
                "repeat_count",
                "choice_filter",
                "constraint",
                "appearance",
            ],
            ["text", "head", "ما اسم ربّ الأسرة؟", "Name of the head?", "", "", "", "", "", ""],
            [
                "integer",
                "size",
                "كم فردًا في أسرة ${head}؟",
                "How many in ${head}'s family?",
                "",
                "",
                "",
                "",
                ". >= 1 and . <= 20",
                "",
            ],
            ["begin repeat", "member", "فرد", "Member", "", "", "${size}", "", "", ""],
            ["integer", "age", "عمر الفرد ${pos}", "Age of member ${pos}", "", "", "", "", "", ""],
            ["calculate", "pos", "", "", "", "position(..)", "", "", "", ""],
            ["calculate", "child", "", "", "", "if(${age} < 18, 1, 0)", "", "", "", ""],
            ["end repeat", "", "", "", "", "", "", "", "", ""],
            ["calculate", "children", "", "", "", "sum(${child})", "", "", "", ""],
            [
                "calculate",
                "first_age",
                "",
                "",
                "",
                "indexed-repeat(${age}, ${member}, 1)",
                "",
                "",
                "",
                "",
            ],
            [
                "begin group",
                "school",
                "المدرسة",
                "School",
                "${children} > 0",
                "",
                "",
                "",
                "",
                "field-list",
            ],
            [
                "note",
                "n",
                "في الأسرة ${children} أطفال",
                "${children} children",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
            ["select_one gov", "gov", "المحافظة", "Governorate", "", "", "", "", "", ""],
            [
                "select_one district",
                "district",
                "القضاء",
                "District",
                "",
                "",
                "",
                "gov=${gov}",
                "",
                "",
            ],
            ["end group", "", "", "", "", "", "", "", "", ""],
            ["begin repeat", "visit", "زيارة", "Visit", "", "", "", "", "", ""],
            ["date", "when", "متى؟", "When?", "", "", "", "", "", ""],
            ["end repeat", "", "", "", "", "", "", "", "", ""],
            ["geopoint", "where", "أين تسكن؟", "Where do you live?", "", "", "", "", "", ""],
            ["image", "photo", "صورة للمكان", "A photo", "", "", "", "", "", ""],
        ],
        "choices": [
            ["list_name", "name", "label::Arabic (ar)", "label::English (en)", "gov"],
            ["gov", "bgd", "بغداد", "Baghdad", ""],
            ["gov", "bsr", "البصرة", "Basra", ""],
            ["district", "karkh", "الكرخ", "Karkh", "bgd"],
            ["district", "rusafa", "الرصافة", "Rusafa", "bgd"],
            ["district", "zubair", "الزبير", "Zubair", "bsr"],
        ],
        "settings": [
            ["form_title::Arabic (ar)", "form_title::English (en)"],
            ["الأسرة", "Household"],
        ],
    }
)


class Walker:
    """Drives SurveyFlow as the engine does (history aside)."""

    def __init__(self, content: bytes) -> None:
        self.form = read_xlsform(content).form
        self.flow = SurveyFlow(lambda: date(2025, 3, 1), lambda: datetime(2025, 3, 1, tzinfo=UTC))
        self.data: dict[str, Any] = {SURVEY_ID: 1, FORM: self.form.to_json(), "answers": {}}
        self.step = self.flow.first_step(self.data)

    def prompt(self) -> Prompt:
        return self.flow.prompt(self.step, self.data)

    def give(self, **given: Any) -> Invalid | None:
        result = self.flow.accept(self.step, self.data, FlowInput(**given))
        if isinstance(result, Invalid):
            return result
        assert isinstance(result, Next)
        self.step, self.data = result.step, result.data
        return None

    def text(self, language: str = "ar") -> str:
        variables = self.prompt().text.variables
        return str(variables.get(f"label_{language}") or variables.get(f"group_{language}"))


def test_groups_repeats_calculations_piping_and_cascading_choices() -> None:
    walk = Walker(HOUSEHOLD)
    assert walk.step == "head"
    walk.give(text="سلمى")
    assert walk.text() == "كم فردًا في أسرة سلمى؟"
    assert walk.give(text="٢٥") is not None  # the constraint holds back 25
    walk.give(text="٢")
    assert (walk.step, walk.text("en")) == ("age@1", "Age of member 1")
    assert walk.prompt().text.variables["instance"] == 1
    walk.give(text="40")
    assert (walk.step, walk.text("en")) == ("age@2", "Age of member 2")
    walk.give(text="9")
    # One child: the school group is relevant; its note pipes the calculation.
    assert walk.step == "n" and walk.text() == "في الأسرة 1 أطفال"
    variables = walk.prompt().text.variables
    assert (variables["group_ar"], variables["section"], variables["sections"]) == (
        "المدرسة",
        2,
        3,
    )
    walk.give(choice=NEXT)
    walk.give(choice="bsr")
    assert [c.value for c in walk.prompt().choices] == ["zubair"]
    walk.give(choice="zubair")
    assert walk.step == "when@1"
    walk.give(text="1/2/2025")
    assert walk.step.startswith("~more:")
    walk.give(choice=AGAIN)
    walk.give(text="2025-02-10")
    walk.give(choice=ENOUGH)
    assert walk.step == "where" and walk.prompt().request_location
    assert walk.give(text="somewhere") is not None
    walk.give(location=(33.3152, 44.3661))
    assert walk.give(media=Media("voice", "v1")) is not None  # a photo is asked for
    walk.give(media=Media("photo", "p1"))
    assert walk.step == SUBMIT_STEP
    answers = walk.flow.submission(walk.form, walk.data)
    assert answers["age[1]"] == "40" and answers["age[2]"] == "9"
    assert answers["child[1]"] == "0" and answers["child[2]"] == "1"
    assert answers["pos[2]"] == "2"
    assert answers["children"] == "1" and answers["first_age"] == "40"
    assert answers["when[2]"] == "2025-02-10"
    assert answers["where"] == "33.315200 44.366100 0 0"
    assert answers["photo"] == "photo:p1"


def test_a_group_that_is_not_relevant_is_skipped_whole() -> None:
    walk = Walker(HOUSEHOLD)
    walk.give(text="علي")
    walk.give(text="1")
    walk.give(text="30")  # no children: the school group is skipped
    assert walk.step == "when@1"


def test_long_lists_are_paged_and_searched_with_arabic_spellings_folded() -> None:
    towns = [
        "الموصل",
        "البصرة",
        "أربيل",
        "كربلاء",
        "النجف",
        "الحلة",
        "الكوت",
        "العمارة",
        "الناصرية",
        "السماوة",
        "الديوانية",
        "الرمادي",
        "تكريت",
        "بعقوبة",
        "كركوك",
        "دهوك",
        "السليمانية",
        "حلبجة",
        "الفلوجة",
        "سامراء",
        "إسحاقي",
    ]
    content = book(
        {
            "survey": [["type", "name", "label::ar"], ["select_one town", "town", "مدينتك؟"]],
            "choices": [["list_name", "name", "label::ar"]]
            + [["town", f"t{i}", name] for i, name in enumerate(towns)],
        }
    )
    walk = Walker(content)
    first = walk.prompt()
    options = [c for c in first.choices if not c.value.startswith("~")]
    rows = -(-len(options) // first.columns)
    assert rows <= 8 and len(options) < len(towns)
    assert PAGE_NEXT in {c.value for c in first.choices}
    walk.give(choice=PAGE_NEXT)
    second = [c.value for c in walk.prompt().choices if not c.value.startswith("~")]
    assert second and not set(second) & {c.value for c in options}
    walk.give(text="البصره")  # taa marbuta typed as haa
    assert [c.value for c in walk.prompt().choices if not c.value.startswith("~")] == ["t1"]
    walk.give(text="اسحاقي")  # hamza left out
    assert [c.value for c in walk.prompt().choices if not c.value.startswith("~")] == ["t20"]
    assert walk.give(text="لندن") is not None
    walk.give(choice="t20")
    assert walk.step == SUBMIT_STEP
    assert fold("أربيل") == fold("اربيل") and fold("ة") == fold("ه")


def test_types_and_columns_of_odk() -> None:
    content = book(
        {
            "survey": [
                [
                    "type",
                    "name",
                    "label::ar",
                    "default",
                    "read_only",
                    "required",
                    "required_message::ar",
                    "parameters",
                ],
                ["acknowledge", "ok", "أوافق على المتابعة", "", "", "", "", ""],
                ["time", "at", "متى؟", "", "", "", "", ""],
                ["datetime", "moment", "التاريخ والوقت؟", "", "", "", "", ""],
                ["range", "score", "من ١ إلى ٥", "", "", "yes", "اختر رقمًا", "start=1 end=5"],
                ["text", "town", "بلدتك", "بغداد", "", "", "", ""],
                ["rank select", "needs", "رتّب", "", "", "", "", ""],
                ["barcode", "code", "الرمز", "", "", "", "", ""],
                ["start", "start", "", "", "", "", "", ""],
                ["deviceid", "deviceid", "", "", "", "", "", ""],
                ["username", "username", "", "", "", "", "", ""],
            ],
            "choices": [
                ["list_name", "name", "label::ar"],
                ["select", "water", "ماء"],
                ["select", "food", "غذاء"],
            ],
        }
    )
    walk = Walker(content)
    assert walk.form.question("needs").type is QuestionType.RANK
    walk.give(choice="OK")
    assert walk.give(text="25:00") is not None
    walk.give(text="١٤:٣٠")
    walk.give(text="2025-03-01 09:15")
    refused = walk.give(text="")
    assert refused is not None and refused.notice.variables["message_ar"] == "اختر رقمًا"
    assert walk.give(text="7") is not None
    walk.give(text="3")
    assert walk.prompt().text.variables["previous_ar"] == "بغداد"  # the default, kept
    walk.give(choice="~keep")
    walk.give(choices=("food", "water"))
    walk.give(text="٠١٢٣٤")
    answers = walk.flow.submission(walk.form, walk.data)
    assert answers["at"] == "14:30:00" and answers["moment"] == "2025-03-01T09:15:00"
    assert answers["score"] == "3" and answers["town"] == "بغداد"
    assert answers["needs"] == "food water" and answers["code"] == "01234"
    assert answers["start"].startswith("2025-03-01") and "username" not in answers


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_household_form_in_arabic_through_the_bot(bot: BotHarness) -> None:
    from tests.surveys.test_real_xlsforms import Answerer

    read = read_xlsform(HOUSEHOLD, "household.xlsx")
    from bot.surveys.lifecycle import import_survey, publish_survey

    now = datetime.now(UTC)
    async with bot.db.unit_of_work() as uow:
        summary = await import_survey(uow, read, actor_id=None, source_name="h.xlsx", now=now)
        await publish_survey(uow, summary.id, actor_id=None, now=now)
        await uow.commit()
    await add_member(bot, 9500, "ar")
    user = bot.user(9500, "ar")
    user.command(f"/start v{summary.id}")
    answerer = Answerer(bot, user, 9500)
    answered = await answerer.answer(30)
    assert "where" in answered and "photo" in answered
    review = user.last_message()
    user.press(review, text="📨 إرسال إجاباتي")
    await user.reply(WAIT)
    await bot.idle()
    stored = await stored_answers(bot, 9500, summary.id)
    assert stored is not None
    assert stored["where"].endswith(" 0 0") and stored["photo"].startswith("photo:")
    assert stored["size"] == "2" and "age[2]" in stored
    location_offers = [m for m in user.messages() if "موقعك" in m.content]
    assert location_offers


def test_start_and_end_are_recorded_as_kobo_records_them() -> None:
    """Local time in TIMEZONE with milliseconds and the offset, as ODK Collect writes them."""
    content = book(
        {
            "survey": [
                ["type", "name", "label::ar"],
                ["start", "start", ""],
                ["end", "end", ""],
                ["today", "today", ""],
                ["text", "town", "بلدتك"],
            ]
        }
    )
    form = read_xlsform(content).form
    clock = [datetime(2025, 3, 1, 21, 5, 7, 250000, tzinfo=UTC)]
    flow = SurveyFlow(lambda: date(2025, 3, 2), lambda: clock[0], ZoneInfo("Asia/Baghdad"))
    data: dict[str, Any] = {SURVEY_ID: 1, FORM: form.to_json(), "answers": {}}
    step = flow.first_step(data)
    clock[0] = datetime(2025, 3, 1, 21, 9, 0, tzinfo=UTC)
    result = flow.accept(step, data, FlowInput(text="الموصل"))
    assert isinstance(result, Next)
    answers = flow.submission(form, result.data)
    assert answers["start"] == "2025-03-02T00:05:07.250+03:00"
    assert answers["end"] == "2025-03-02T00:09:00.000+03:00"
    assert answers["today"] == "2025-03-02" and answers["town"] == "الموصل"
    finished = flow.submission(
        form, result.data, finished=datetime(2025, 3, 1, 22, 0, 0, 1000, tzinfo=UTC)
    )
    assert finished["end"] == "2025-03-02T01:00:00.001+03:00"
