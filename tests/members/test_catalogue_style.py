"""One way of writing per catalogue: tanween as "ًا", Arabic-Indic digits and the Arabic comma
in Arabic, Latin digits in English; numbers, dates and times rendered in the same style.

Latin digits may appear in Arabic only where the reader types them back or copies them:
inside <code>…</code>, and inside codes that also hold Latin letters (GR-…, S12-K7MXPA).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from messages import Catalogue
from messages.catalogue import load_catalogue_sources

CATALOGUE = Catalogue(ZoneInfo("Asia/Baghdad"))
ARABIC = load_catalogue_sources("ar")
ENGLISH = load_catalogue_sources("en")

TEMPLATE_CODE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
TYPED_BACK = re.compile(r"<code>.*?</code>|<a [^>]*>", re.S)
ENTITY = re.compile(r"&[a-z]+;")
LATIN_NUMBER = re.compile(r"[A-Za-z0-9_./#$+-]*[0-9][A-Za-z0-9_./#$+-]*")
# Codes (GR-…, S12-…) and ISO 216 paper sizes (A4) are names, written as the world writes them.
CODE_WITH_LETTERS = re.compile(r"[A-Za-z]{2,}|[A-Z]+-|-[A-Z]|^[AB][0-9]\.?$")
ARABIC_INDIC = re.compile(r"[٠-٩۰-۹]")


def prose(source: str) -> str:
    """What the reader sees as running text: no template code, no typed-back parts."""
    return ENTITY.sub("", TYPED_BACK.sub("", TEMPLATE_CODE.sub("", source)))


def latin_numbers(text: str) -> list[str]:
    return [m for m in LATIN_NUMBER.findall(text) if not CODE_WITH_LETTERS.search(m)]


def test_arabic_spells_tanween_one_way() -> None:
    mixed = sorted(key for key, source in ARABIC.items() if "اً" in source)
    assert mixed == [], "spell tanween as ًا (مثلًا), not اً"
    assert any("ًا" in source for source in ARABIC.values())


def test_arabic_prose_uses_arabic_indic_digits() -> None:
    offending = {key: found for key, s in ARABIC.items() if (found := latin_numbers(prose(s)))}
    assert offending == {}


def test_english_uses_latin_digits() -> None:
    offending = sorted(key for key, source in ENGLISH.items() if ARABIC_INDIC.search(source))
    assert offending == []


def test_arabic_prose_uses_the_arabic_comma() -> None:
    offending = sorted(key for key, source in ARABIC.items() if re.search(r"[,;]", prose(source)))
    assert offending == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("a 5 b", ["5"]),
        ("<code>/feedback 12</code> GR-7K3M-Q2XA S12-K7MXPA", []),
        ("{{ count|number }} ٥ و(1/12)", ["1/12"]),
        ("ملصق بحجم A4. و4 نسخ", ["4"]),
    ],
)
def test_the_digit_check_finds_latin_numbers_in_prose(source: str, expected: list[str]) -> None:
    assert latin_numbers(prose(source)) == expected


def test_numbers_dates_and_times_render_in_the_language_digits() -> None:
    moment = datetime(2030, 12, 5, 14, 30, tzinfo=UTC)  # 17:30 in Baghdad
    arabic = CATALOGUE.render("ar", "sessions.mine.confirm_cancel", title="x", starts_at=moment)
    english = CATALOGUE.render("en", "sessions.mine.confirm_cancel", title="x", starts_at=moment)
    assert "٥" in arabic and "٢٠٣٠" in arabic and not re.search("[0-9]", arabic)
    assert "5" in english and "2030" in english and not ARABIC_INDIC.search(english)
    times = CATALOGUE.render(
        "ar", "sessions.checkin.done", code="K7", title="x", checked_in_at=moment
    )
    assert "٥:٣٠" in times and "م" in times
    count = CATALOGUE.render("ar", "staff.granted", user_id=1234, role="admin")
    assert "١٢٣٤" in count and "1234" not in count
    big = CATALOGUE.render(
        "ar", "broadcasts.card.confirm", broadcast_id=7, audience="a", total=12000, send_at=None
    )
    assert "١٢٬٠٠٠" in big
    day = CATALOGUE.render(
        "ar",
        "grievances.status_one",
        reference="GR-7K3M-Q2XA",
        category="c",
        status="s",
        created_at=moment,
        ack_due_at=moment,
        acknowledged=True,
        replies=[],
        can_add=False,
        appeal_until=date(2031, 1, 4),
    )
    assert "٢٠٣١" in day and "GR-7K3M-Q2XA" in day


@pytest.mark.parametrize(
    ("count", "arabic", "english"),
    [
        (1, "نص واحد", "one text"),
        (2, "نصّان", "two texts"),
        (3, "\u2068٣\u2069 نصوص", "3 texts"),
        (10, "\u2068١٠\u2069 نصوص", "10 texts"),
        (11, "\u2068١١\u2069 نصًّا", "11 texts"),
        (100, "\u2068١٠٠\u2069 نص", "100 texts"),
        (103, "\u2068١٠٣\u2069 نصوص", "103 texts"),
    ],
)
def test_report_parts_name_what_arrived_with_agreeing_numbers(
    count: int, arabic: str, english: str
) -> None:
    ar = CATALOGUE.render("ar", "grievances.ask.description_more", texts=count, voices=1, photos=0)
    en = CATALOGUE.render("en", "grievances.ask.description_more", texts=count, voices=1, photos=0)
    assert f"وصلنا حتى الآن: {arabic} وتسجيل صوتي واحد." in ar
    assert "صورة" not in ar and " صور" not in ar
    assert f"So far we have: {english} and one voice note." in en


def test_a_list_of_three_parts_reads_as_a_list() -> None:
    ar = CATALOGUE.render("ar", "grievances.ask.description_more", texts=1, voices=2, photos=3)
    en = CATALOGUE.render("en", "grievances.ask.description_more", texts=1, voices=2, photos=3)
    assert "نص واحد وتسجيلان صوتيان و\u2068٣\u2069 صور" in ar
    assert "one text, two voice notes and 3 photos" in en
