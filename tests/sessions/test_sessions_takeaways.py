"""What an organiser and a member take away from a session outside the chat (issue 19): a
ticket a standard reader scans, check-in from a photo of it, tappable links, a poster."""

from __future__ import annotations

import io

import segno
from PIL import Image

from bot.engines.qr import qr_png, read_qr
from tests.sessions.test_sessions_support import (
    add_member,
    add_session,
    idle,
    make_organiser,
    registrations,
    text,
)
from tests.support.harness import BotHarness
from tests.support.qr_reader import decode_qr, module_pixels

ORGANISER = 700


def phone_photo_of(png: bytes) -> bytes:
    with Image.open(io.BytesIO(png)) as ticket:
        small = ticket.convert("L").resize((ticket.width * 3 // 5, ticket.height * 3 // 5))
    scene = Image.new("L", (small.width + 240, small.height + 180), 140)
    scene.paste(small, (130, 70))
    tilted = scene.rotate(7, resample=Image.Resampling.BILINEAR, fillcolor=140)
    buffer = io.BytesIO()
    tilted.convert("RGB").save(buffer, format="JPEG", quality=60)
    return buffer.getvalue()


def test_a_short_code_still_makes_a_standard_qr_code() -> None:
    # segno.make would pick a Micro QR (M3) for this text; a phone camera cannot read that.
    assert segno.make("S1-ACDEFH").is_micro
    png = qr_png("S1-ACDEFH")
    assert decode_qr(png) == "S1-ACDEFH"
    assert read_qr(png) == ["S1-ACDEFH"]
    assert read_qr(b"not an image") == []


async def test_the_ticket_scans_and_the_door_checks_in_from_a_photo(bot: BotHarness) -> None:
    now = bot.clock.now()
    await make_organiser(bot.db, ORGANISER, now)
    session_id = await add_session(bot.db, now, title="Basra dialogue")
    await add_member(bot.db, 31, language="en", now=now)
    member = bot.user(31, "en")
    member.command("/sessions")
    listing = await member.reply()
    member.press(listing, data=listing.buttons()[0][1])
    sent = await member.replies(3)  # the ticket, its QR image and the calendar file
    assert any(m.content.startswith("✅") for m in sent)
    [photo] = [m for m in sent if m.kind == "photo"]
    assert photo.document_bytes is not None
    [(_, _, code)] = await registrations(bot.db, session_id)
    # A standard reader (OpenCV, like phone camera apps) reads the ticket, and its modules
    # are big enough to scan from a phone screen held at arm's length.
    assert decode_qr(photo.document_bytes) == f"S{session_id}-{code}"
    assert module_pixels(photo.document_bytes) >= 12

    organiser = bot.user(ORGANISER, "en")
    organiser.upload_photo(photo.document_bytes)
    assert (await organiser.reply()).content.startswith(f"✅ {code} is checked in")
    # A phone photo of the ticket, as Telegram delivers it: smaller, tilted, JPEG-compressed,
    # on a grey background. zxing-cpp on the server still reads it.
    organiser.upload_photo(phone_photo_of(photo.document_bytes))
    assert (await organiser.reply()).content.startswith(f"✅ {code} is checked in")
    blank = io.BytesIO()
    Image.new("L", (400, 300), 255).save(blank, format="PNG")
    organiser.upload_photo(blank.getvalue())
    assert (await organiser.reply()).content == text("en", "sessions.door.no_qr")
    organiser.upload_photo(qr_png("hello"))  # some other QR code
    assert (await organiser.reply()).content == text(
        "en", "sessions.checkin.not_found", code="hello"
    )
    # A member's photo outside any flow is not a check-in (and says nothing of staff tools).
    member.upload_photo(photo.document_bytes)
    assert (await member.reply()).content == text("en", "flow.no_flow_hint")
    await idle(bot)
