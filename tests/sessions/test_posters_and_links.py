"""Links organisers share and posters they print (issue 19 pt 5), and admin screens escaped
exactly once (pt 6), through the real bot against the fake Bot API."""

from __future__ import annotations

import io
import re

from PIL import Image
from sqlalchemy import select

from bot.engines.share_links import LinkTarget, parse_target
from storage.models import AuditEntry
from tests.sessions.test_sessions_support import (
    add_member,
    add_session,
    idle,
    make_organiser,
    take_place,
    text,
)
from tests.support.harness import BotHarness
from tests.support.qr_reader import decode_qr
from tests.surveys.test_survey_steps import import_form

ORGANISER = 710
DIRECTION_MARKS = re.compile("[\u200e\u200f\u061c\u2066-\u2069\u202a-\u202e]")
DOUBLE_ESCAPED = re.compile(r"&amp;(?:lt|gt|amp|quot|#\d+);")


def link_line(content: str, url: str) -> str:
    """The one line that shows `url`; it must hold the link and nothing that copying picks up."""
    [line] = [line for line in content.split("\n") if url in line]
    assert not DIRECTION_MARKS.search(line), repr(line)
    assert f'<a href="{url}">{url}</a>' in line
    return line


def test_poster_targets_are_read_in_latin_or_arabic_indic_digits() -> None:
    assert parse_target("s12") == LinkTarget("s", 12)
    assert parse_target("#V7") == LinkTarget("v", 7)
    assert parse_target("s١٢") == LinkTarget("s", 12)
    assert parse_target("v ٧") == LinkTarget("v", 7)
    for bad in ("", "12", "x12", "s", "s0", "s12a", "s-3"):
        assert parse_target(bad) is None, bad


async def test_share_links_are_full_tappable_and_carry_no_direction_marks(
    bot: BotHarness,
) -> None:
    now = bot.clock.now()
    username = bot.api.bot_user["username"]
    await make_organiser(bot.db, ORGANISER, now)
    await add_member(bot.db, ORGANISER, language="ar", now=now)
    session_id = await add_session(bot.db, now, title="حوار البصرة")
    organiser = bot.user(ORGANISER, "ar")
    organiser.command("/sessions_admin")
    card = await organiser.reply()
    link_line(card.content, f"https://t.me/{username}?start=s{session_id}")

    survey_id = await import_form(bot, publish=False)
    organiser.command("/surveys_admin")
    listing = await organiser.reply()
    organiser.press(listing, data=f"sva:p:{survey_id}")
    published = await organiser.reply()
    link_line(published.content, f"https://t.me/{username}?start=v{survey_id}")
    await idle(bot)


async def test_poster_of_a_session_and_a_survey_scans_and_is_audited(bot: BotHarness) -> None:
    now = bot.clock.now()
    username = bot.api.bot_user["username"]
    await make_organiser(bot.db, ORGANISER, now)
    await add_member(bot.db, ORGANISER, language="en", now=now)
    session_id = await add_session(bot.db, now, title="Q&A <Basra> youth")
    organiser = bot.user(ORGANISER, "en")

    digits = str(session_id).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    organiser.command(f"/poster s{digits}")
    sent = await organiser.reply()
    url = f"https://t.me/{username}?start=s{session_id}"
    assert sent.kind == "document" and sent.document_name == f"poster-s{session_id}.png"
    assert sent.document_bytes is not None
    assert decode_qr(sent.document_bytes) == url  # a standard reader scans the poster
    with Image.open(io.BytesIO(sent.document_bytes)) as page:
        assert page.size == (1240, 1754)  # A4 at 150 dpi
        assert round(page.info["dpi"][0]) == 150
    link_line(sent.content, url)

    survey_id = await import_form(bot)
    organiser.command(f"/poster v{survey_id}")
    survey_poster = await organiser.reply()
    assert survey_poster.document_bytes is not None
    assert decode_qr(survey_poster.document_bytes) == f"https://t.me/{username}?start=v{survey_id}"

    organiser.command("/poster")
    assert (await organiser.reply()).content == text("en", "posters.usage")
    organiser.command("/poster x12")
    assert (await organiser.reply()).content == text("en", "posters.usage")
    organiser.command("/poster s99999")
    assert (await organiser.reply()).content == text("en", "posters.not_found", payload="s99999")
    draft_survey = await import_form(bot, publish=False)
    organiser.command(f"/poster v{draft_survey}")
    assert (await organiser.reply()).content == text(
        "en", "posters.not_shareable", payload=f"v{draft_survey}"
    )

    # Organisers only: anyone else gets what an unknown command gets, and no file.
    await add_member(bot.db, 55, language="en", now=now)
    member = bot.user(55, "en")
    member.command(f"/poster s{session_id}")
    refused = await member.reply()
    assert refused.kind == "text" and refused.document_bytes is None

    async with bot.db.unit_of_work() as uow:
        audited = (
            await uow.session.execute(
                select(AuditEntry.actor_id, AuditEntry.action, AuditEntry.record_id).where(
                    AuditEntry.action.in_(("session.poster", "survey.poster"))
                )
            )
        ).all()
    assert sorted(audited) == [
        (ORGANISER, "session.poster", str(session_id)),
        (ORGANISER, "survey.poster", str(survey_id)),
    ]
    await idle(bot)


async def test_admin_screens_escape_a_title_once(bot: BotHarness) -> None:
    """A title with & and < reads as typed on the card, the publish notice, /attendees and
    its "<5" wording: never "&amp;lt;" (escaped twice)."""
    now = bot.clock.now()
    await make_organiser(bot.db, ORGANISER, now)
    await add_member(bot.db, ORGANISER, language="en", now=now)
    session_id = await add_session(bot.db, now, title="Q&A <Basra>")
    member_id = 41
    await add_member(bot.db, member_id, language="en", now=now)
    member = bot.user(member_id, "en")
    member.command(f"/start s{session_id}")
    opened = await member.reply()
    register = next(data for _label, data in opened.buttons() if data)
    await take_place(member, opened, register)

    organiser = bot.user(ORGANISER, "en")
    organiser.command("/sessions_admin")
    card = await organiser.reply()
    organiser.command(f"/attendees {session_id}")
    [summary] = [m for m in await organiser.replies(3) if m.kind == "text"]  # and 2 files
    for message in (card, summary):
        assert "Q&amp;A &lt;Basra&gt;" in message.content
        assert not DOUBLE_ESCAPED.search(message.content), message.content
    # One registrant: every group is under five, shown as "<5" (HTML "&lt;5"), escaped once.
    assert "&lt;5" in summary.content
    await idle(bot)
