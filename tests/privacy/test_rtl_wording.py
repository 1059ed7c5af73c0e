"""Right-to-left safe (issue 16): "<5" read as "5>" in Arabic charts, and /attendees showed
"&lt;5" literally. Arabic now says "أقل من ٥" (no mirrored sign to flip), wrapped in isolates
inside sentences, and each value is escaped exactly once."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.engines.disclosure import Figure, Mark, wording
from bot.surveys.charts import for_display
from messages import shared_catalogue

CATALOGUE = shared_catalogue(ZoneInfo("Asia/Baghdad"))


def test_arabic_says_less_than_five_in_words_and_english_keeps_the_sign() -> None:
    arabic, english = wording(CATALOGUE, "ar"), wording(CATALOGUE, "en")
    small = Figure(None, Mark.SMALL)
    assert arabic.of(small) == "أقل من \u2068٥\u2069"
    assert english.of(small) == "<5"
    assert arabic.of(Figure(None, Mark.HIDDEN)) == "محجوب"
    assert english.of(Figure(12)) == "12" and arabic.of(Figure(12)) == "12"
    # What the chart draws: no "<" or ">" that bidi could mirror, the isolates removed.
    drawn = for_display(arabic.of(small))
    assert "<" not in drawn and ">" not in drawn and "\u2068" not in drawn


def test_the_wording_is_escaped_once_in_a_message() -> None:
    english = wording(CATALOGUE, "en")
    line = CATALOGUE.render(
        "en",
        "sessions.attendees.count_line",
        dimension="Gender",
        value="Woman",
        registered=english.small,
        attended=english.hidden,
    )
    assert "&lt;5" in line and "&amp;" not in line
    arabic = wording(CATALOGUE, "ar")
    line = CATALOGUE.render(
        "ar",
        "sessions.attendees.count_line",
        dimension="الجنس",
        value="امرأة",
        registered=arabic.small,
        attended=arabic.hidden,
    )
    assert "أقل من" in line and "&lt;" not in line and "&amp;" not in line
