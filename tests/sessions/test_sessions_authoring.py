"""/newsession with fewer dead ends (issue 20): one language of the title, description and venue
may be skipped (the other is shown), the venue is bilingual, any part can be edited from the
preview, and times are typed the way the bot prints them ("٥:٣٠ م")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.sessions.organiser_input import InvalidSessionInput, parse_end, parse_local_datetime
from storage.models import DialogueSession
from tests.sessions.test_sessions_support import (
    BAGHDAD,
    add_member,
    ask,
    label,
    make_organiser,
    text,
)
from tests.support.harness import BotHarness

ORGANISER = 950


def arabic_digits(value: str) -> str:
    return value.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))


async def test_an_arabic_only_session_with_a_bilingual_venue_and_an_edit_from_the_preview(
    bot: BotHarness,
) -> None:
    await make_organiser(bot.db, ORGANISER, bot.clock.now())
    organiser = bot.user(ORGANISER, "ar")
    organiser.command("/newsession")
    assert (await organiser.reply()).content == ask("ar", "title_ar")
    organiser.send("حوار البصرة")
    title_en = await organiser.reply()
    assert title_en.content == ask("ar", "title_en")
    organiser.press(title_en, text=label("ar", "flow.skip"))
    description_ar = await organiser.reply()
    assert description_ar.content == ask("ar", "description_ar")
    # The Arabic description is skipped: the English one may then not be skipped as well.
    organiser.press(description_ar, text=label("ar", "flow.skip"))
    description_en = await organiser.reply()
    assert description_en.content == ask("ar", "description_en")
    assert label("ar", "flow.skip") not in [b for b, _ in description_en.buttons()]
    # A forged Skip (the step does not offer one) is a stale button and changes nothing.
    organiser.press(description_en, data=description_en.buttons()[0][1].replace("~back", "~skip"))
    notice, again = await organiser.replies(2)
    assert notice.content == text("ar", "flow.stale_button")
    assert again.content == ask("ar", "description_en")
    organiser.send("An open dialogue about water")
    governorates = await organiser.reply()
    organiser.press(governorates, text=label("ar", "governorate.basra"))
    assert (await organiser.reply()).content == ask("ar", "venue")
    organiser.send("قاعة المدينة")
    assert (await organiser.reply()).content == ask("ar", "venue_en")
    organiser.send("City hall")
    assert (await organiser.reply()).content == ask("ar", "starts_at")
    day = (bot.clock.now() + timedelta(days=4)).astimezone(BAGHDAD)
    organiser.send(arabic_digits(day.strftime("%d/%m/%Y")) + " ٥:٣٠ م")  # as the bot prints it
    assert (await organiser.reply()).content == ask("ar", "ends_at")
    organiser.send("٧:٠٠ م")
    assert (await organiser.reply()).content == ask("ar", "capacity")
    organiser.send("٢٠")
    for _optional in ("reserved_women", "reserved_youth", "reminders"):
        prompt = await organiser.reply()
        organiser.press(prompt, text=label("ar", "flow.skip"))
    preview = await organiser.reply()
    assert "قاعة المدينة" in preview.content and "City hall" in preview.content
    assert "فيقرأ قرّاء الإنجليزية النص العربي" in preview.content

    # Edit the seats from the preview: only those questions, then the preview again.
    organiser.press(preview, text=label("ar", "sessions.new.edit_field"))
    fields = await organiser.reply()
    assert fields.content == text("ar", "sessions.new.ask_field")
    organiser.press(fields, text=label("ar", "sessions.new.field.seats"))
    assert (await organiser.reply()).content == ask("ar", "capacity")
    organiser.send("30")
    for _optional in ("reserved_women", "reserved_youth"):
        prompt = await organiser.reply()
        organiser.press(prompt, text=label("ar", "flow.skip"))
    preview = await organiser.reply()
    assert "المقاعد: \u2068٣٠\u2069" in preview.content
    organiser.press(preview, text=label("ar", "sessions.new.publish"))
    published = await organiser.reply()
    assert published.content.startswith("📢")
    await bot.idle()

    async with bot.db.unit_of_work() as uow:
        row = await uow.session.scalar(select(DialogueSession))
        assert row is not None
        assert (row.title_ar, row.title_en) == ("حوار البصرة", "حوار البصرة")
        assert (row.description_ar, row.description_en) == ("An open dialogue about water",) * 2
        assert (row.venue, row.venue_en, row.capacity) == ("قاعة المدينة", "City hall", 30)
        local = row.starts_at.astimezone(BAGHDAD)
        assert (local.hour, local.minute) == (17, 30)
        assert row.ends_at.astimezone(BAGHDAD).hour == 19
        session_id = row.id

    # English readers read the English venue; Arabic readers the Arabic one.
    await add_member(bot.db, 951, language="en", now=bot.clock.now())
    reader = bot.user(951, "en")
    reader.command(f"/start s{session_id}")
    card = await reader.reply()
    assert "City hall" in card.content and "قاعة المدينة" not in card.content
    await bot.idle()


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("10/12/2026 5:30 م", (2026, 12, 10, 17, 30)),
        ("١٠/١٢/٢٠٢٦ ٥:٣٠ م", (2026, 12, 10, 17, 30)),
        ("١٠\u200f/١٢\u200f/٢٠٢٦، ٥:٣٠ م", (2026, 12, 10, 17, 30)),  # as the bot prints it
        ("2026-12-10 9:15 ص", (2026, 12, 10, 9, 15)),
        ("10/12/2026 12:00 ص", (2026, 12, 10, 0, 0)),
        ("10/12/2026 12:00 م", (2026, 12, 10, 12, 0)),
        ("10/12/2026 5 مساءً", (2026, 12, 10, 17, 0)),
        ("10/12/2026 5:30 PM", (2026, 12, 10, 17, 30)),
        ("2026-12-10 17:30", (2026, 12, 10, 17, 30)),
    ],
)
def test_times_are_read_as_iraqis_write_them(typed: str, expected: tuple[int, ...]) -> None:
    moment = parse_local_datetime(typed, BAGHDAD)
    assert (moment.year, moment.month, moment.day, moment.hour, moment.minute) == expected


@pytest.mark.parametrize("typed", ["10/12/2026 5", "10/12/2026 17:00 ص", "10/12/2026 13:61"])
def test_impossible_times_are_refused(typed: str) -> None:
    with pytest.raises(InvalidSessionInput):
        parse_local_datetime(typed, BAGHDAD)


def test_an_end_time_alone_may_be_typed_with_arabic_am_pm() -> None:
    start = parse_local_datetime("2026-12-10 17:00", BAGHDAD)
    assert parse_end("٧:٣٠ م", start, BAGHDAD).hour == 19
    with pytest.raises(InvalidSessionInput):
        parse_end("٤:٠٠ م", start, BAGHDAD)  # before the start
