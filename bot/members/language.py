"""Language selection and detection for short chat messages.

Hiwar supports exactly two interface languages, Arabic (``"ar"``) and English (``"en"``).
This module decides which one to use for a member:

* :func:`choose_language` applies the precedence *stored preference → Telegram
  ``language_code`` → detection from the message text → default*.
* :func:`language_from_telegram_code` maps a Telegram/IETF code such as ``"ar-IQ"`` to a
  supported language.
* :func:`detect_text_language` guesses the language of one short message.

Detection works in cheap stages so that the common cases never reach the (slow)
statistical detector:

1. URLs, e-mail addresses, ``@mentions`` and ``/commands`` are removed; if no letters are
   left (emoji, digits including Arabic-Indic digits, punctuation, whitespace) the result is
   ``None`` so the caller falls back to its default.
2. Script: if Arabic-script letters are at least as many as all other letters, or the only
   non-Arabic part is a single short Latin word (``"hello اخي"``), the answer is ``"ar"``.
   Kurdish (Sorani/Badini) and Persian in Arabic script also give ``"ar"``: we only ship
   ``ar``/``en`` and Arabic is what readers of that script get. Text written mostly in other
   scripts (Cyrillic, CJK, ...) gives ``None``.
3. Latin-script text: Arabizi (Arabic in Latin letters, e.g. ``"shlonak"``, ``"mar7aba"``,
   ``"shaku maku"``) is recognised with a lexicon of common (mostly Iraqi) words plus the
   digit-letters 2/3/5/6/7/9 inside words, and gives ``"ar"``; a lexicon of common English
   words decides the usual English messages (including one-word answers such as ``"ok"``).
4. Only when the lexicons do not decide, :mod:`langdetect` is consulted. Its detector is
   built from the ``ar`` and ``en`` profiles only (so it can only answer a supported
   language), seeded with ``0`` for determinism, and loaded lazily once per process.

Consequence of 4: other Latin-script languages (French, Turkish, ...) come out as ``"en"``,
which is the more useful of our two languages for such readers.

The module has no Telegram dependency so it can be used from handlers, jobs and admin tools.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Any, Final

from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

__all__ = [
    "SUPPORTED_LANGUAGES",
    "choose_language",
    "detect_text_language",
    "language_from_telegram_code",
]

logger = logging.getLogger(__name__)

SUPPORTED_LANGUAGES: tuple[str, ...] = ("ar", "en")

# Only this many characters are analysed; a chat message's language is clear long before.
_MAX_ANALYSED_CHARS: Final = 2000
# "hello اخي": a lone Latin word up to this length does not outweigh Arabic words.
_SHORT_LATIN_WORD_MAX: Final = 12
# Minimum langdetect probability for an answer to be used.
_MIN_PROBABILITY: Final = 0.5

_NOISE_RE: Final = re.compile(
    r"(?:https?://|www\.)\S+"  # URLs
    r"|(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.-]+"  # e-mail addresses (anchored: linear time)
    r"|(?<!\w)[@/]\w+",  # @mentions and /commands (also /start@hiwar_bot)
    re.IGNORECASE,
)
_LATIN_TOKEN_RE: Final = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# A Latin word made of letters and single Arabizi digit-letters (2=ء 3=ع 5=خ 6=ط 7=ح 9=ق/ص),
# e.g. "mar7aba", "3ala", "la2", "sa3a"; at least two letters, no multi-digit numbers.
_ARABIZI_DIGIT_WORD_RE: Final = re.compile(
    r"(?=(?:[0-9]*[a-z]){2})(?=[a-z]*[235679])(?:[a-z]|[235679](?![0-9]))+"
)
# English words with digits that the rule above would otherwise take for Arabizi.
_ENGLISH_NUMBER_WORD_RE: Final = re.compile(
    r"[0-9]+(?:st|nd|rd|th|am|pm|k|km|kg|g|gb|mb|m|min|mins|h|hr|hrs|s|x|d|kv|kw|v|w|iq|iqd)"
)


def _wordset(words: str) -> frozenset[str]:
    """Build a lexicon from whitespace-separated words (keeps the lists readable)."""
    return frozenset(words.split())


_ARABIZI_WORDS: Final[frozenset[str]] = _wordset(
    """
    shlonak shlonek shlonich shlonech shlonkum shlonkom shlon shloon ashlon shlonik
    shaku shako shakoo maku mako makoo maaku aku akoo ako
    hala halaw halla ahlan ahlen ahla ahlain sahlan sahla marhaba marhaban mar7aba mar7ba
    habibi habibti 7abibi 7abibti 7abeebi habeebi hbibi
    shukran shokran shukur mashkoor mashkor mamnoon mamnun ashkurak ashkrak ashkurich
    tislam teslam tislamli tislamlee yislamu ysalmak
    inshallah inshalla insha'allah nshallah wallah wallahi walla wallahy yalla yallah
    mashallah alhamdulillah alhamdulilah alhamdellah hamdilla hamdella allah
    salam salaam assalamu alaikum alaykum alaykom 3alaykum 3alaikum 3alekum
    sabah masa alkhair alkheir el5air el5er kheir khair bkhair bikhair bkheir b5air b5eir
    zein zeen zeina zena kulish kulshi khosh agaty aghati aghaty 3ami 3ammi ammi
    baba ana inta enta inti enti ihna e7na humma
    shinu shno shnu sheno shenu shu sho shou lish leish laish wein wain emta imta shwakit
    shgad ishgad hassa hessa hisa bachir bacher baachir ilyoum ilyom elyom lyom
    hatha hadha haatha mumkin mumken mmkn akeed akid tamam mashi khalas ma3lish maalish
    salama hwaya hwaiya shwaya shwaiya shway agul agool gulli wiyak weyak abdan la2
    kifak kifik keefak keef kif halak halik akhbar akhbarak akhbarik
    mabrook mabrouk mabruk mubarak kareem kreem
    jalsa jalsat warsha dawra istibyan istimara kahraba shughul mushkila tasjeel
    """
)
# Arabizi particles ("il jalsa", "w inta"): only half a vote, they are too short to be sure.
_ARABIZI_PARTICLES: Final[frozenset[str]] = _wordset("il el wa w bil lil 3al fi ya ma mo b")
# "zain" is also Iraq's largest mobile operator ("my zain sim"): half a vote too.
_ARABIZI_WEAK_WORDS: Final[frozenset[str]] = _ARABIZI_PARTICLES | {"zain"}

_ENGLISH_WORDS: Final[frozenset[str]] = _wordset(
    """
    yes yeah yea yep yup no nope nah ok okay k kk sure fine alright right correct done
    hi hello hey hiya yo morning evening night thanks thank thx tnx ty please pls plz
    bye goodbye sorry sry lol haha hmm cool nice great good welcome congrats agreed
    the a an and or but if so is are was were be been am i i'm im you you're u ur r he she
    we they it it's me my mine your our their them us this that these those there here
    what when where who why how which to of in on at for from with about by as into not
    do does did don't dont doesn't didn't isn't i'll i'd we're that's what's whats
    can can't cant could will won't wont would should
    have has had get got go going gonna wanna gotta want need know think see help
    time day today tomorrow tonight now then still just also very much more some any all
    one two three next last new free work job jobs power water street area city
    2day 2moro 2morrow 2nite 2night gr8 b4 l8r u2 me2 2gether mp3 h2o co2 3d 5g 2fa
    """
)

_factory: DetectorFactory | None = None
_factory_lock = threading.Lock()


def _get_factory() -> DetectorFactory:
    """Return the langdetect factory with the supported profiles, loading it on first use."""
    global _factory
    factory = _factory
    if factory is None:
        with _factory_lock:
            factory = _factory
            if factory is None:
                profiles = [
                    (Path(PROFILES_DIRECTORY) / lang).read_text(encoding="utf-8")
                    for lang in SUPPORTED_LANGUAGES
                ]
                factory = DetectorFactory()
                factory.load_json_profile(profiles)
                factory.seed = 0  # deterministic sampling in Detector
                _factory = factory
    return factory


def _is_arabic_letter(code: int) -> bool:
    """Arabic, Supplement, Extended-A/B, presentation forms, Arabic math letters."""
    return (
        0x0600 <= code <= 0x06FF
        or 0x0750 <= code <= 0x077F
        or 0x0870 <= code <= 0x08FF
        or 0xFB50 <= code <= 0xFDFF
        or 0xFE70 <= code <= 0xFEFF
        or 0x1EE00 <= code <= 0x1EEFF
    )


def _is_latin_letter(code: int) -> bool:
    """Basic Latin, Latin-1, Latin Extended-A/B, IPA, Extended Additional/C/D/E, fullwidth."""
    return (
        code < 0x02B0
        or 0x1E00 <= code <= 0x1EFF
        or 0x2C60 <= code <= 0x2C7F
        or 0xA720 <= code <= 0xA7FF
        or 0xAB30 <= code <= 0xAB6F
        or 0xFF21 <= code <= 0xFF5A
    )


def _script_counts(text: str) -> tuple[int, int, int]:
    """Count (Arabic, Latin, other) letters in ``text``."""
    arabic = latin = other = 0
    for char in text:
        if not char.isalpha():
            continue
        code = ord(char)
        if _is_arabic_letter(code):
            arabic += 1
        elif _is_latin_letter(code):
            latin += 1
        else:
            other += 1
    return arabic, latin, other


def _latin_words(text: str) -> list[str]:
    """Return the runs of Latin letters in ``text`` (used for the "short word" rule)."""
    words: list[str] = []
    current: list[str] = []
    for char in text:
        if char.isalpha() and _is_latin_letter(ord(char)):
            current.append(char)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


def _is_arabizi_token(token: str) -> bool:
    if token in _ARABIZI_WORDS:
        return True
    if token in _ENGLISH_WORDS or _ENGLISH_NUMBER_WORD_RE.fullmatch(token):
        return False
    return _ARABIZI_DIGIT_WORD_RE.fullmatch(token) is not None


def _langdetect_language(text: str) -> str | None:
    """Ask langdetect (ar/en profiles only); ``None`` when it has no usable answer."""
    try:
        detector: Any = _get_factory().create()
        detector.append(text)
        probabilities: list[Any] = detector.get_probabilities()
    except LangDetectException:
        return None
    except Exception:  # langdetect is old, untyped code: never let it break a handler
        logger.exception("langdetect failed on a %d-character text", len(text))
        return None
    best: tuple[float, str] | None = None
    for item in probabilities:
        lang, prob = str(item.lang), float(item.prob)
        if lang in SUPPORTED_LANGUAGES and (best is None or prob > best[0]):
            best = (prob, lang)
    if best is None or best[0] < _MIN_PROBABILITY:
        return None
    return best[1]


def _detect_latin(text: str) -> str | None:
    """Detect the language of text whose letters are (mostly) Latin."""
    lowered = text.lower().replace("\u2019", "'")
    tokens = _LATIN_TOKEN_RE.findall(lowered)
    words = [token for token in tokens if not token.isdigit()]
    arabizi = 0.0
    arabizi_words = english = 0
    for word in words:
        if word in _ENGLISH_WORDS:
            english += 1
        elif word in _ARABIZI_WEAK_WORDS:
            arabizi += 0.5
            arabizi_words += 1
        elif _is_arabizi_token(word):
            arabizi += 1.0
            arabizi_words += 1
    # Arabizi must outnumber the common English words and have one full vote, unless every
    # word is Arabizi ("zain", "w inta").
    if arabizi > english and (arabizi >= 1.0 or arabizi_words == len(words)):
        return "ar"
    if english and 2 * english >= len(words):
        return "en"
    return _langdetect_language(text)


def detect_text_language(text: str | None) -> str | None:
    """Guess the supported language (``"ar"``/``"en"``) of a short chat message.

    Returns ``None`` when the text gives nothing to go on (``None``, empty, whitespace,
    emoji, digits, punctuation, or a script other than Arabic/Latin). Never raises.
    """
    if not isinstance(text, str):
        return None
    sample = _NOISE_RE.sub(" ", text[:_MAX_ANALYSED_CHARS])
    arabic, latin, other = _script_counts(sample)
    if arabic + latin + other == 0:
        return None
    if arabic:
        if arabic >= latin + other:
            return "ar"
        if not other:
            latin_words = _latin_words(sample)
            if len(latin_words) == 1 and len(latin_words[0]) <= _SHORT_LATIN_WORD_MAX:
                return "ar"
    if latin == 0 or latin < other:
        return None
    return _detect_latin(sample)


def language_from_telegram_code(code: str | None) -> str | None:
    """Map a Telegram ``language_code`` (IETF tag) to a supported language or ``None``.

    ``"ar"``, ``"ar-IQ"`` and ``"AR"`` give ``"ar"``; ``"en"`` and ``"en-GB"`` give ``"en"``.
    """
    if not isinstance(code, str):
        return None
    primary = code.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in SUPPORTED_LANGUAGES else None


def choose_language(
    *, stored: str | None, telegram_code: str | None, text: str | None, default: str
) -> str:
    """Pick the language to talk to a member in.

    Precedence: the member's stored preference (if supported), then the Telegram
    ``language_code``, then detection from ``text``, then ``default``.
    """
    return (
        language_from_telegram_code(stored)
        or language_from_telegram_code(telegram_code)
        or detect_text_language(text)
        or default
    )
