"""Tests for :mod:`bot.members.language` (language choice and short-message detection).

The labelled corpus lives in ``tests/data/language_corpus.tsv``: UTF-8, a ``label<TAB>text``
header, then one message per line. Labels:

* ``ar``: the member should get Arabic. This covers Arabic (MSA and Iraqi colloquial),
  Arabizi (Arabic written in Latin letters, e.g. ``shlonak``, ``mar7aba``, ``shaku maku``),
  and Kurdish (Sorani/Badini) in Arabic script, because we only ship ar/en and Arabic is what
  readers of that script get.
* ``en``: English, including typos and chat slang (``thx``, ``gonna be late 2day sry``).
  English with a loan word (``I'll be there inshallah``) is still ``en``.
* ``none``: nothing to detect (emoji, digits incl. Arabic-Indic digits, punctuation,
  ``/commands``, ``@mentions``); the detector must return ``None`` so the caller falls back to
  its default.

Rule for mixed Arabic/Latin messages (URLs removed first): the label is ``ar`` when Arabic
letters are at least as many as all other letters (ties go to Arabic), or when the whole Latin
part is a single word of at most 12 letters (``hello اخي``, ``الكهرباء off من الصبح``);
otherwise ``en`` (``ابي اسجل in the workshop`` has 7 Arabic and 13 Latin letters).
:func:`test_mixed_rows_follow_dominant_script_rule` recomputes this rule independently
(with :func:`unicodedata.name`), so mislabelled mixed rows fail.

Rows are put in categories for the minimum-count checks from their text, so the file format
stays two-column: ``none`` by label; *mixed* if it has Arabic and Latin letters; *arabizi* if
labelled ``ar`` with Latin letters only; *kurdish* if it has a Kurdish-only letter
(ڕ ڵ ۆ ێ ە); otherwise *ar* or *en* by label.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.members import language
from bot.members.language import (
    SUPPORTED_LANGUAGES,
    choose_language,
    detect_text_language,
    language_from_telegram_code,
)

CORPUS_PATH = Path(__file__).resolve().parents[1] / "data" / "language_corpus.tsv"
LABELS = frozenset({"ar", "en", "none"})
MIN_ACCURACY = 0.97
MIN_CATEGORY_COUNTS = {
    "ar": 120,
    "en": 120,
    "arabizi": 30,
    "kurdish": 15,
    "mixed": 20,
    "none": 15,
}
KURDISH_ONLY_LETTERS = frozenset("ڕڵۆێە")
SHORT_LATIN_WORD_MAX = 12
_URL_RE = re.compile(r"(?:https?://|www\.)\S+")


def load_corpus() -> list[tuple[str, str]]:
    lines = CORPUS_PATH.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "label\ttext", "corpus must start with the header 'label<TAB>text'"
    rows: list[tuple[str, str]] = []
    for number, line in enumerate(lines[1:], start=2):
        label, sep, text = line.partition("\t")
        assert sep and text, f"line {number}: expected 'label<TAB>text', got {line!r}"
        assert label in LABELS, f"line {number}: unknown label {label!r}"
        assert "\t" not in text, f"line {number}: tab inside the text"
        rows.append((label, text))
    return rows


CORPUS = load_corpus()


def _script_letters(text: str) -> tuple[int, int, list[str]]:
    """(Arabic letters, other letters, Latin words) of ``text`` without URLs."""
    text = _URL_RE.sub(" ", text)
    arabic = other = 0
    latin_words: list[str] = []
    word = ""
    for char in text + " ":
        name = unicodedata.name(char, "") if char.isalpha() else ""
        if name.startswith("ARABIC"):
            arabic += 1
        elif name:
            other += 1
        if name.startswith("LATIN"):
            word += char
        elif word:
            latin_words.append(word)
            word = ""
    return arabic, other, latin_words


def category(label: str, text: str) -> str:
    if label == "none":
        return "none"
    arabic, _, latin_words = _script_letters(text)
    if arabic and latin_words:
        return "mixed"
    if label == "ar" and latin_words:
        return "arabizi"
    if KURDISH_ONLY_LETTERS & set(text):
        return "kurdish"
    return label


def expected_mixed_label(text: str) -> str:
    arabic, other, latin_words = _script_letters(text)
    if arabic >= other:
        return "ar"
    if len(latin_words) == 1 and len(latin_words[0]) <= SHORT_LATIN_WORD_MAX:
        return "ar"
    return "en"


# --------------------------------------------------------------------------- corpus


def test_corpus_has_minimum_rows_per_category() -> None:
    counts = Counter(category(label, text) for label, text in CORPUS)
    assert len(CORPUS) >= 320
    for name, minimum in MIN_CATEGORY_COUNTS.items():
        assert counts[name] >= minimum, f"category {name}: {counts[name]} < {minimum} ({counts})"


def test_corpus_has_no_duplicates() -> None:
    texts = Counter(text for _, text in CORPUS)
    assert not [text for text, n in texts.items() if n > 1]


def test_mixed_rows_follow_dominant_script_rule() -> None:
    wrong = [
        (label, text, expected_mixed_label(text))
        for label, text in CORPUS
        if category(label, text) == "mixed" and label != expected_mixed_label(text)
    ]
    assert not wrong, f"mixed rows labelled against the documented rule: {wrong}"


def test_corpus_accuracy() -> None:
    misclassified = []
    for label, text in CORPUS:
        got = detect_text_language(text) or "none"
        if got != label:
            misclassified.append(f"{category(label, text)}: expected {label}, got {got}: {text}")
    accuracy = 1 - len(misclassified) / len(CORPUS)
    assert accuracy >= MIN_ACCURACY, (
        f"accuracy {accuracy:.3f} < {MIN_ACCURACY}; misclassified:\n" + "\n".join(misclassified)
    )


# --------------------------------------------------------------------------- examples


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("شلونك؟", "ar"),
        ("شكو ماكو", "ar"),
        ("ﻣﺮﺣﺒﺎ", "ar"),  # Arabic presentation forms
        ("سڵاو، چۆنی؟", "ar"),  # Sorani Kurdish
        ("shlonak", "ar"),
        ("mar7aba", "ar"),
        ("shaku maku", "ar"),
        ("ana bkhair", "ar"),
        ("hello اخي", "ar"),
        ("ابي اسجل in the workshop", "en"),
        ("yes", "en"),
        ("no", "en"),
        ("ok", "en"),
        ("hi", "en"),
        ("thanks", "en"),
        ("see you at 9am", "en"),
        ("my zain sim is not working", "en"),
        ("gonna be late 2day sry", "en"),
        ("Привет", None),
        ("你好", None),
        ("/start", None),
        ("https://example.org/form", None),
        (None, None),
        ("", None),
    ],
)
def test_detect_examples(text: str | None, expected: str | None) -> None:
    assert detect_text_language(text) == expected


def test_langdetect_profiles_are_loaded_once() -> None:
    assert language._get_factory() is language._get_factory()


# --------------------------------------------------------------------------- properties

ARABIC_LETTERS = [
    chr(code)
    for block in (
        range(0x0600, 0x0700),
        range(0x0750, 0x0780),
        range(0x08A0, 0x0900),
        range(0xFB50, 0xFE00),
        range(0xFE70, 0xFF00),
    )
    for code in block
    if chr(code).isalpha()
]
NOISE_CHARS = (
    [chr(c) for c in range(0x0660, 0x066A)]  # Arabic-Indic digits
    + [chr(c) for c in range(0x06F0, 0x06FA)]  # Extended Arabic-Indic digits
    + list("0123456789 \t\n\r\u00a0\u200f\u200d\ufe0f.,!?;:-+%()،؟؛…")
    + [chr(c) for c in range(0x1F600, 0x1F650)]  # emoticons
    + [chr(c) for c in range(0x1F300, 0x1F400)]  # pictographs
    + [chr(c) for c in range(0x1F3FB, 0x1F400)]  # skin tones
    + ["❤", "✅", "⚡", "☺"]
)
assert not any(char.isalpha() for char in NOISE_CHARS)

arabic_words = st.lists(
    st.text(alphabet=st.sampled_from(ARABIC_LETTERS), min_size=1, max_size=12),
    min_size=1,
    max_size=8,
).map(" ".join)


@settings(deadline=None)
@given(st.text())
def test_never_raises_and_returns_supported_or_none(text: str) -> None:
    assert detect_text_language(text) in (None, *SUPPORTED_LANGUAGES)


@settings(deadline=None)
@given(st.text(alphabet=st.sampled_from(NOISE_CHARS)))
def test_digits_emoji_whitespace_return_none(text: str) -> None:
    assert detect_text_language(text) is None


@given(arabic_words)
def test_pure_arabic_letters_return_ar(text: str) -> None:
    assert detect_text_language(text) == "ar"


@given(arabic_words, st.text(alphabet=st.sampled_from(NOISE_CHARS)))
def test_arabic_with_digits_and_emoji_returns_ar(words: str, noise: str) -> None:
    assert detect_text_language(f"{noise} {words} {noise}") == "ar"


@settings(deadline=None)
@given(st.text() | st.text(alphabet="abcdefghijklmnopqrstuvwxyz 2357'", max_size=40))
def test_deterministic(text: str) -> None:
    assert detect_text_language(text) == detect_text_language(text)


# --------------------------------------------------------------------------- telegram/choose


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ar", "ar"),
        ("ar-IQ", "ar"),
        ("AR", "ar"),
        ("ar_IQ", "ar"),
        ("en", "en"),
        ("en-GB", "en"),
        ("EN-us", "en"),
        ("ckb", None),
        ("ku", None),
        ("fr", None),
        ("arz", None),
        ("", None),
        (None, None),
    ],
)
def test_language_from_telegram_code(code: str | None, expected: str | None) -> None:
    assert language_from_telegram_code(code) == expected


@pytest.mark.parametrize(
    ("stored", "telegram_code", "text", "default", "expected"),
    [
        ("en", "ar", "شلونك", "ar", "en"),  # stored preference wins over everything
        ("ar", "en-GB", "hello", "en", "ar"),
        ("fr", "en-GB", "شلونك", "ar", "en"),  # unsupported stored value is skipped
        (None, "ar-IQ", "hello", "en", "ar"),  # then Telegram's language_code
        (None, "de", "hello there", "ar", "en"),  # then the text
        (None, None, "شلونك", "en", "ar"),
        (None, None, "👍", "ar", "ar"),  # then the default
        (None, None, None, "en", "en"),
        (None, "ckb", "", "ar", "ar"),
    ],
)
def test_choose_language_precedence(
    stored: str | None, telegram_code: str | None, text: str | None, default: str, expected: str
) -> None:
    chosen = choose_language(
        stored=stored, telegram_code=telegram_code, text=text, default=default
    )
    assert chosen == expected
