"""Risk lexicons (SPEC §5): flag reports that mention threats, violence, recruitment, hate
speech or self-harm.

Lexicons are data files (`bot/data/risk_lexicon_<lang>.txt`, one ``CATEGORY | term`` a line).
Text and terms are normalised alike: Arabic alef/hamza forms (أ إ آ ٱ → ا), alef maqsura
(ى → ي), taa marbuta (ة → ه), diacritics and tatweel removed, case folded. A word matches a
term word if it is equal, or starts with it when the term word has at least four letters
(three in Arabic script, where most roots have three);
Arabic words are also tried without leading clitics (و ف ب ك ل ال and combinations).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
LEXICON_FILES = ("risk_lexicon_ar.txt", "risk_lexicon_en.txt")
RISK_CATEGORIES = frozenset({"threat", "violence", "recruitment", "hate_speech", "self_harm"})
PREFIX_MATCH_MIN_LENGTH = 4
ARABIC_PREFIX_MATCH_MIN_LENGTH = 3  # most Arabic roots have three letters

_ALEF_FORMS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"})
_TASHKEEL = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_WORD = re.compile(r"\w+")
# Longest first, so "وبال" is tried before "و".
_CLITICS = tuple(
    sorted(
        {
            "و",
            "ف",
            "ب",
            "ك",
            "ل",
            "ال",
            "وال",
            "فال",
            "بال",
            "كال",
            "لل",
            "ولل",
            "فلل",
            "وب",
            "ول",
            "فب",
            "فل",
            "وك",
            "وبال",
            "فبال",
        },
        key=len,
        reverse=True,
    )
)


def normalise(text: str) -> str:
    """Text as the lexicon compares it (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text)
    text = _TASHKEEL.sub("", text).translate(_ALEF_FORMS)
    return text.casefold()


def words_of(text: str) -> list[str]:
    return _WORD.findall(normalise(text))


def _forms(word: str) -> set[str]:
    forms = {word}
    for clitic in _CLITICS:
        if word.startswith(clitic) and len(word) - len(clitic) >= 2:
            forms.add(word[len(clitic) :])
    return forms


def _word_matches(word_forms: set[str], term_word: str) -> bool:
    arabic = "\u0600" <= term_word[0] <= "\u06ff"
    minimum = ARABIC_PREFIX_MATCH_MIN_LENGTH if arabic else PREFIX_MATCH_MIN_LENGTH
    if len(term_word) >= minimum:
        return any(form.startswith(term_word) for form in word_forms)
    return term_word in word_forms


@dataclass(frozen=True)
class LexiconTerm:
    category: str
    words: tuple[str, ...]


class RiskLexicon:
    def __init__(self, terms: Iterable[LexiconTerm]) -> None:
        self.terms = tuple(term for term in terms if term.words)

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> RiskLexicon:
        terms = []
        for number, raw in enumerate(lines, start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            category, separator, term = (part.strip() for part in line.partition("|"))
            if not separator or category not in RISK_CATEGORIES or not term:
                raise ValueError(f"risk lexicon line {number}: expected 'CATEGORY | term'")
            terms.append(LexiconTerm(category, tuple(words_of(term))))
        return cls(terms)

    def categories_in(self, text: str) -> list[str]:
        """The risk categories `text` mentions, sorted; empty if none."""
        forms = [_forms(word) for word in words_of(text)]
        found: set[str] = set()
        for term in self.terms:
            if term.category in found:
                continue
            size = len(term.words)
            for start in range(len(forms) - size + 1):
                if all(_word_matches(forms[start + i], term.words[i]) for i in range(size)):
                    found.add(term.category)
                    break
        return sorted(found)


@cache
def default_lexicon() -> RiskLexicon:
    lines: list[str] = []
    for name in LEXICON_FILES:
        lines.extend((DATA_DIR / name).read_text(encoding="utf-8").splitlines())
    return RiskLexicon.from_lines(lines)
