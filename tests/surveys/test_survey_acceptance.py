"""Acceptance: the example needs assessment is imported, previewed and published; members answer
it in Arabic (both sides of the skip logic, and across a restart); /results gives charts and
spreadsheets with correct Arabic and no identities."""

from __future__ import annotations

import argparse
import csv
import io
import re

import pytest

from bot.commands import import_survey as import_command
from tests.support.harness import BotHarness
from tests.surveys.test_survey_steps import (
    NEEDS,
    WAIT,
    Respondent,
    add_member,
    label,
    make_organiser,
    needs_form,
    open_from_list,
    stored_answers,
    text,
    xlsx_rows,
)

ORGANISER, AMAL, BASSAM, CAMAR = 9001, 9101, 9102, 9103


async def test_needs_assessment_from_import_to_results(
    bot: BotHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    form = needs_form()
    title_ar = form.titles["ar"]

    # The M&E officer imports the example form from the command line: preview and id.
    code = await import_command.run(
        bot.settings, argparse.Namespace(path=str(NEEDS), publish=False)
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "Preview in English: Community needs assessment" in printed
    assert "Preview in Arabic: تقييم احتياجات المجتمع" in printed
    assert "only if ${displaced} = 'yes'" in printed
    match = re.search(r"survey id: (\d+) \(draft\)", printed)
    assert match is not None
    survey_id = int(match.group(1))

    # An organiser finds the draft, previews it in both languages and publishes it.
    await make_organiser(bot, ORGANISER)
    organiser = bot.user(ORGANISER, "en")
    organiser.command("/surveys_admin")
    listing = await organiser.reply(WAIT)
    assert f"#{survey_id} Community needs assessment: draft" in listing.content
    organiser.press(listing, text=label("en", "surveys.admin.preview_button", id=survey_id))
    english, arabic, summary = await organiser.replies(3, WAIT)
    assert english.content.startswith("<b>Preview in English: Community needs assessment</b>")
    assert "[select_multiple, required] What are your community&#39;s most urgent needs?" in (
        english.content
    )
    assert "كم عدد أفراد أسرتك الذين يعيشون معك؟" in arabic.content
    organiser.press(summary, text=label("en", "surveys.admin.publish_button", id=survey_id))
    published = await organiser.reply(WAIT)
    assert f"?start=v{survey_id}" in published.content

    # Amal answers in Arabic and takes the "yes" side of every skip.
    await add_member(bot, AMAL, "ar", governorate="baghdad", gender="female", age_group="25_34")
    amal = Respondent(bot, bot.user(AMAL, "ar"), "ar", form)
    intro = await open_from_list(amal.user, "ar", title_ar)
    assert intro.content == text(
        "ar", "surveys.member.starting", title_en=form.titles["en"], title_ar=title_ar
    )
    await amal.next("intro")
    await amal.choose("displaced", "yes")
    await amal.choose("returned", "no")
    await amal.type("household_size", "٥")
    await amal.type("children", "٢")
    await amal.choose("priority_needs", "water", "other")
    await amal.type("needs_other", "مدارس للأطفال")
    await amal.choose("water_access", "rarely")
    await amal.choose("services_rating", "poor")
    await amal.choose("feel_safe", "no")
    await amal.choose("safety_concerns", "crime", "tension")
    await amal.choose("dialogue_interest", "yes")
    await amal.type("last_meeting", "٢١/٣/٢٠٢٥")
    await amal.skip("income")
    await amal.skip("comments")
    await amal.next("thanks")
    await amal.submit()

    # Bassam takes the other side: every conditional question is skipped.
    await add_member(bot, BASSAM, "ar", governorate="nineveh", gender="male")
    bassam = Respondent(bot, bot.user(BASSAM, "ar"), "ar", form)
    await open_from_list(bassam.user, "ar", title_ar)
    await bassam.next("intro")
    await bassam.choose("displaced", "no")
    await bassam.type("household_size", "1")
    await bassam.choose("priority_needs", "health")
    await bassam.choose("services_rating", "fair")
    await bassam.choose("feel_safe", "yes")
    await bassam.choose("dialogue_interest", "no")
    await bassam.type("income", "٣٥٠٫٥")
    await bassam.type("comments", "شكرًا لكم")
    await bassam.next("thanks")
    await bassam.submit()

    # Camar stops half-way; the bot restarts; she comes back and her answers are still there.
    await add_member(bot, CAMAR, "ar")
    camar = Respondent(bot, bot.user(CAMAR, "ar"), "ar", form)
    await open_from_list(camar.user, "ar", title_ar)
    await camar.next("intro")
    await camar.choose("displaced", "yes")
    await camar.choose("returned", "yes")
    await camar.type("household_size", "4")
    await camar.expect("children")
    await bot.idle()
    await bot.restart()
    resumed = await open_from_list(camar.user, "ar", title_ar)
    assert resumed.content == text(
        "ar", "surveys.member.resuming", title_en=form.titles["en"], title_ar=title_ar
    )
    await camar.type("children", "3")
    await camar.choose("priority_needs", "electricity")
    await camar.choose("services_rating", "very_poor")
    await camar.choose("feel_safe", "yes")
    await camar.choose("dialogue_interest", "no")
    await camar.skip("income")
    await camar.skip("comments")
    await camar.next("thanks")
    await camar.submit()

    assert await stored_answers(bot, AMAL, survey_id) == {
        "displaced": "yes",
        "returned": "no",
        "household_size": "5",
        "children": "2",
        "priority_needs": "water other",
        "needs_other": "مدارس للأطفال",
        "water_access": "rarely",
        "services_rating": "poor",
        "feel_safe": "no",
        "safety_concerns": "crime tension",
        "dialogue_interest": "yes",
        "last_meeting": "2025-03-21",
    }
    bassam_answers = await stored_answers(bot, BASSAM, survey_id)
    assert bassam_answers is not None
    assert "returned" not in bassam_answers and "children" not in bassam_answers
    assert bassam_answers["income"] == "350.5"
    camar_answers = await stored_answers(bot, CAMAR, survey_id)
    assert camar_answers is not None
    assert (camar_answers["displaced"], camar_answers["returned"]) == ("yes", "yes")
    assert (camar_answers["household_size"], camar_answers["children"]) == ("4", "3")

    # Results: a chart per choice question, breakdowns with small cells suppressed, files.
    organiser.command(f"/results {survey_id}")
    received = []
    while not received or received[-1].content != text("en", "surveys.results.files_sent"):
        received.append(await organiser.reply(WAIT))
    summary = received[0]
    assert summary.kind == "text" and "3 responses" in summary.content
    choice_questions = [q.name for q in form.questions if q.is_choice]
    charts = [m for m in received if m.kind == "photo"]
    # One summary message, then the charts as photos in albums (all of them: a chart each).
    assert [m.kind for m in received[: 1 + len(charts)]] == ["text"] + ["photo"] * len(charts)
    assert len(charts) == len(choice_questions) and all(c.media_group_id for c in charts)
    assert all((c.document_bytes or b"").startswith(b"\x89PNG") for c in charts)
    assert all(c.parse_mode == "HTML" for c in charts)
    assert [c.document_name for c in charts] == [
        f"survey-{survey_id}-community_needs-{name}.png" for name in choice_questions
    ]
    # Three answered: every count is suppressed, so no percentage anywhere.
    assert "&lt;5" in charts[0].content and "%" not in " ".join(c.content for c in charts)
    assert not re.search(r"\b[1-4]\b(?!/)", charts[0].content.split("</b>", 1)[1])
    assert "Baghdad" in charts[0].content or "breakdown" in charts[0].content

    csv_file = next(m for m in received if (m.document_name or "").endswith(".csv"))
    xlsx_file = next(m for m in received if (m.document_name or "").endswith(".xlsx"))
    assert csv_file.document_bytes is not None and xlsx_file.document_bytes is not None
    assert csv_file.document_bytes.startswith(b"\xef\xbb\xbf")
    csv_rows = list(csv.reader(io.StringIO(csv_file.document_bytes.decode("utf-8-sig"))))
    rows = xlsx_rows(xlsx_file.document_bytes)
    header_row = [str(cell) for cell in rows[0]]
    assert header_row == csv_rows[0]
    assert header_row[:3] == ["displaced", "returned", "household_size"]
    assert header_row[-2:] == ["_uuid", "_submission_time"]
    assert "intro" not in header_row and "thanks" not in header_row
    by_uuid = {row[header_row.index("needs_other")]: row for row in rows[1:]}
    amal_row = by_uuid["مدارس للأطفال"]
    assert amal_row[header_row.index("priority_needs")] == "water other"
    assert amal_row[header_row.index("household_size")] == 5
    assert re.fullmatch(r"[0-9a-f]{32}", str(amal_row[header_row.index("_uuid")]))
    flat = " ".join(str(cell) for row in rows for cell in row)
    for identity in (str(AMAL), str(BASSAM), str(CAMAR), str(ORGANISER)):
        assert identity not in flat
    assert "شكرًا لكم" in csv_file.document_bytes.decode("utf-8-sig")
