"""A realistic session with Hiwar, as the tests of what a database keeps play it (issue 15).

A member reports (text, a voice note and a photo with a caption, an area and contact
details), adds information, a moderator keeps a note and replies, the member answers a
survey in words; another member answers the survey too and erases their data. Every text
typed, every name, username and Telegram id is distinctive, so a test can look for it in
the raw bytes of the database files. No tests in this module.
"""

from __future__ import annotations

import asyncio
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from bot.engines.roles import Role, grant_role
from bot.members.membership import record_consent
from bot.surveys.lifecycle import import_survey, publish_survey
from bot.surveys.xlsform.reading import read_xlsform
from messages import Catalogue
from storage.database import Database
from storage.migrate import upgrade_database
from tests.fake_telegram import FakeBotApi, SentMessage, SimulatedUser, TgUser
from tests.grievances.test_grievance_steps import (
    choose,
    finish_report,
    next_reply,
    reference_in,
    report_until_description,
)
from tests.support.member_scripts import CONSENT, SURVEY, Answer, Crowd, Member, Plan

CATALOGUE = Catalogue(ZoneInfo("Asia/Baghdad"))
STEP = 30.0

REPORTER = TgUser(5_829_163_047, "Zubaida", "en", username="zubaida_q77", last_name="Qaraghouli")
ERASER = TgUser(6_014_772_389, "Haidar", "en", username="haidar_k_basra", last_name="Alkubaisi")
MODERATOR = TgUser(7_203_118_456, "Salwa", "en", username="salwa_mod_91", last_name="Jubouri")

DESCRIPTION = "Checkpoint-Xq7 officer took my brother at the Ramadi bridge"
AREA = "Hay-Zq9 al-Andalus street"
CONTACT = "+964 770 555 0199 ask for Um-Yq3"
CAPTION = "Photo-Kv3 the burned shop"
ADDITION = "Detail-Pw5 he was driving a white Kia"
NOTE = "Note-Jm2 check with the Anbar office"
REPLY = "Reply-Lt8 we have contacted the governorate"
REPORTER_ANSWERS = {"need": "Need-Rn4 a clinic open at night", "wish": "Wish-Bd6 safe roads"}
ERASER_ANSWERS = {"need": "Need-Gh2 clean water in Zubair", "wish": "Wish-Tc5 more teachers"}


def distinctive_strings() -> dict[str, str]:
    """What must never be readable in the database files: typed texts (distinctive
    fragments), members' names and usernames, the moderator's username, members' ids as
    text. (Staff are named by first name to colleagues, and the audit log records which
    account was granted a role: a staff member's first name and id are kept by design.)"""
    texts = [DESCRIPTION, AREA, CONTACT, CAPTION, ADDITION, NOTE, REPLY]
    texts += [*REPORTER_ANSWERS.values(), *ERASER_ANSWERS.values()]
    found = {f"text {text!r}": re.split(r"\s", text)[0] for text in texts}
    found.update({"contact number": "555 0199", "Ramadi bridge": "Ramadi bridge"})
    for who, user in (("reporter", REPORTER), ("eraser", ERASER)):
        found[f"{who} first name"] = user.first_name
        found[f"{who} last name"] = str(user.last_name)
        found[f"{who} username"] = str(user.username)
    found["moderator username"] = str(MODERATOR.username)
    found["moderator last name"] = str(MODERATOR.last_name)
    for who, user in (("reporter", REPORTER), ("eraser", ERASER)):
        found[f"{who} id"] = str(user.id)
    return found


def survey_form() -> bytes:
    """Two questions answered in words."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    sheet.append(["type", "name", "label::English (en)", "label::Arabic (ar)", "required"])
    sheet.append(["text", "need", "What does your area need most?", "ما أكثر ما تحتاجه؟", "yes"])
    sheet.append(["text", "wish", "One wish for your area?", "أمنية واحدة لمنطقتك؟", "yes"])
    settings = book.create_sheet("settings")
    settings.append(["form_title", "form_title::Arabic (ar)", "form_id"])
    settings.append(["Needs in words", "الاحتياجات بالكلمات", "needs_words"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def prepare(database: Database, *, migrate: bool = True) -> int:
    """Migrate, make MODERATOR a moderator, publish the survey; returns its id."""
    if migrate:
        await upgrade_database(database)
    now = datetime.now(UTC)
    read = read_xlsform(survey_form(), "needs_words.xlsx")
    async with database.unit_of_work() as uow:
        await grant_role(uow, actor_id=None, user_id=MODERATOR.id, role=Role.MODERATOR, now=now)
        await record_consent(uow, MODERATOR.id, language="en", language_source="chosen", now=now)
        summary = await import_survey(uow, read, actor_id=None, source_name="words", now=now)
        await publish_survey(uow, summary.id, actor_id=None, now=now)
        await uow.commit()
    return summary.id


@dataclass(frozen=True)
class PlayedSession:
    reference: str
    reporter: SimulatedUser
    eraser: SimulatedUser
    moderator: SimulatedUser
    file_ids: tuple[str, ...]


async def wait_for_text(api: FakeBotApi, user: SimulatedUser, fragment: str) -> SentMessage:
    def found() -> SentMessage | None:
        return next((m for m in api.messages_to(user.chat_id) if fragment in m.content), None)

    await api.wait_for(lambda: found() is not None, timeout=STEP, what=fragment)
    message = found()
    assert message is not None
    return message


async def quiet(api: FakeBotApi, user: SimulatedUser, still: float = 0.6) -> None:
    """Wait until no new message has reached the user's chat for `still` seconds."""
    count, since = -1, asyncio.get_running_loop().time()
    while True:
        now = asyncio.get_running_loop().time()
        if len(api.messages_to(user.chat_id)) != count:
            count, since = len(api.messages_to(user.chat_id)), now
        elif now - since >= still:
            return
        await asyncio.sleep(0.05)


def _member(api: FakeBotApi, user: TgUser, plan: Plan) -> Member:
    member = Member(api, user.id, "en", plan)
    member.user = SimulatedUser(api, user)
    return member


def _survey_plan(survey_id: int, answers: dict[str, str]) -> Plan:
    return Plan(
        goals=(CONSENT, SURVEY),
        survey_id=survey_id,
        survey_form=read_xlsform(survey_form(), "needs_words.xlsx").form,
        survey_answers={name: Answer("type", text=text) for name, text in answers.items()},
    )


async def erase(api: FakeBotApi, user: SimulatedUser) -> None:
    """/deletemydata, confirmed."""
    user.command("/deletemydata")
    confirm = await wait_for_text(api, user, "anonymised")
    user.press(confirm, text=CATALOGUE.plain("en", "onboarding.erase.confirm_button"))
    await wait_for_text(api, user, CATALOGUE.render("en", "onboarding.erase.done"))


async def play(api: FakeBotApi, survey_id: int) -> PlayedSession:
    # Both members consent by /start and answer the survey in words.
    reporter_member = _member(api, REPORTER, _survey_plan(survey_id, REPORTER_ANSWERS))
    eraser_member = _member(api, ERASER, _survey_plan(survey_id, ERASER_ANSWERS))
    await Crowd([reporter_member, eraser_member], patience=15.0).run(timeout=120)
    reporter, eraser = reporter_member.user, eraser_member.user
    moderator = SimulatedUser(api, MODERATOR)
    for user in (reporter, eraser):
        await quiet(api, user)
        api.reset_cursor(user.chat_id, to_end=True)

    # The report: an area, a text, a voice note, a photo with a caption, contact details.
    prompt = await report_until_description(
        reporter, category="security", governorate="anbar", area=AREA
    )
    reporter.send(DESCRIPTION)
    prompt = await next_reply(reporter)
    reporter.send_voice()
    prompt = await next_reply(reporter)
    reporter.send_photo(caption=CAPTION)
    prompt = await next_reply(reporter)
    confirmation = await finish_report(
        reporter, prompt, urgency="medium", contact="contactable", contact_details=CONTACT
    )
    reference = reference_in(confirmation.content)
    await wait_for_text(api, moderator, reference)  # the card

    # The member adds information; the moderator keeps a note and replies.
    reporter.command(f"/addinfo {reference}")
    prompt = await next_reply(reporter)
    reporter.send(ADDITION)
    prompt = await next_reply(reporter)
    await choose(reporter, prompt, "~done")
    moderator.command(f"/note {reference} {NOTE}")
    await wait_for_text(api, moderator, f"Note kept on case {reference}")
    moderator.command(f"/reply {reference} {REPLY}")
    await wait_for_text(api, reporter, REPLY)

    # The other member erases their data.
    await erase(api, eraser)
    return PlayedSession(reference, reporter, eraser, moderator, file_ids_sent(api))


def file_ids_sent(api: FakeBotApi) -> tuple[str, ...]:
    """Telegram's ids of the voice note and photo the reporter sent (kept only sealed)."""
    ids: set[str] = set()
    for call in api.calls_to("getUpdates"):
        for update in call.response.get("result", []):
            message = update.get("message") or {}
            if (message.get("from") or {}).get("id") != REPORTER.id:
                continue
            for size in message.get("photo") or []:
                ids.add(size["file_id"])
            if message.get("voice"):
                ids.add(message["voice"]["file_id"])
    return tuple(sorted(ids))
