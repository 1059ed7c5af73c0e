"""Message catalogues (one per language) rendered with Jinja2 for HTML parse mode (SPEC §6).

Catalogue files live in `messages/<lang>/*.toml`; tables nest keys (`[sessions] full = "..."`
is the key `sessions.full`). `messages/variables/*.toml` documents, for every key that takes
variables, an example value of each; the test suite renders every key with them.

Example variables for tests live in `messages/variables/<feature>.toml`.

In Arabic, every value substituted into a message is wrapped in Unicode first-strong
isolates (U+2068 … U+2069), so references, names and numbers keep their own direction
inside right-to-left text.

One digit style per language: Arabic shows every number, date and time in Arabic-Indic
digits (٠-٩), English in Latin digits. The `number`, `date`, `datetime` and `time` filters
and whole numbers substituted as they are follow that rule; codes, references and commands
(`GR-…`, `/feedback 12`, `<code>…</code>`) keep Latin digits because they are typed back.

`link` shows a full address (`https://t.me/<bot>?start=s12`) as a tappable link whose text is
the address, with no direction marks inside or around it; catalogues put it on its own line.

`counted` names a quantity with the noun agreeing with it (`{{ texts|counted("grievances.
parts.text") }}` → "نصّان", "٣ نصوص", "١١ نصًّا"): the catalogue holds one key per CLDR plural
form under that prefix (zero, one, two, few, many, other). `listing` joins phrases the
language's way ("أ وب وج", "a, b and c").
"""

from __future__ import annotations

import functools
import html
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal
from jinja2 import Environment, StrictUndefined, Template
from markupsafe import Markup

CATALOGUE_DIR = Path(__file__).parent
LANGUAGES = ("ar", "en")
FIRST_STRONG_ISOLATE = "\u2068"
POP_DIRECTIONAL_ISOLATE = "\u2069"
_BABEL_LOCALES = {"ar": "ar_IQ", "en": "en_GB"}
_LIST_SEPARATORS = {"ar": "، ", "en": ", "}
ARABIC_INDIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
PLURAL_FORMS = ("zero", "one", "two", "few", "many", "other")


class MissingMessage(KeyError):
    """No such key in the catalogue."""


def isolate(value: str) -> str:
    """Wrap `value` so its direction does not leak into the surrounding text."""
    return f"{FIRST_STRONG_ISOLATE}{value}{POP_DIRECTIONAL_ISOLATE}"


def arabic_digits(text: str) -> str:
    """Latin digits as Arabic-Indic digits ("5:30 م" → "٥:٣٠ م")."""
    return text.translate(ARABIC_INDIC_DIGITS)


def format_number(language: str, value: float | int) -> str:
    """A number as the `number` filter writes it: Babel's grouping and decimal sign for the
    language, Arabic-Indic digits in Arabic ("1,234.5", "١٬٢٣٤٫٥")."""
    locale = _BABEL_LOCALES.get(language, _BABEL_LOCALES["en"])
    if language == "ar":
        return arabic_digits(format_decimal(value, locale=locale, numbering_system="arab"))
    return format_decimal(value, locale=locale)


def _flatten(table: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{key}.")
        elif isinstance(value, str):
            yield key, value
        else:
            raise ValueError(f"catalogue value for {key!r} must be text")


def load_catalogue_sources(language: str, directory: Path = CATALOGUE_DIR) -> dict[str, str]:
    """Every key of one language, from all of its files; a key defined twice is an error."""
    sources: dict[str, str] = {}
    for path in sorted((directory / language).glob("*.toml")):
        with path.open("rb") as handle:
            for key, template in _flatten(tomllib.load(handle)):
                if key in sources:
                    raise ValueError(f"message key {key!r} is defined twice in {language}")
                sources[key] = template
    return sources


def load_documented_variables(directory: Path = CATALOGUE_DIR) -> dict[str, dict[str, Any]]:
    """Example variables per key, from `messages/variables/*.toml` (one file per feature)."""
    documented: dict[str, dict[str, Any]] = {}
    for path in sorted((directory / "variables").glob("*.toml")):
        with path.open("rb") as handle:
            for key, values in tomllib.load(handle).items():
                if key in documented:
                    raise ValueError(f"variables for {key!r} are documented twice")
                documented[key] = dict(values)
    return documented


@functools.cache
def shared_catalogue(timezone: ZoneInfo) -> Catalogue:
    """The catalogue of the shipped message files for `timezone`, built once per process.

    A catalogue is never changed after it is built, so every runtime in a process (several in
    the test suite; one in production) can share it instead of compiling ~1,000 templates
    again at each start."""
    return Catalogue(timezone)


class Catalogue:
    """All messages in all languages; `render(lang, key, **variables)` gives HTML text."""

    def __init__(self, timezone: ZoneInfo, directory: Path = CATALOGUE_DIR) -> None:
        self.timezone = timezone
        self._templates: dict[str, dict[str, Template]] = {}
        self.sources: dict[str, dict[str, str]] = {}
        for language in LANGUAGES:
            environment = self._environment(language)
            self.sources[language] = load_catalogue_sources(language, directory)
            self._templates[language] = {
                key: environment.from_string(source)
                for key, source in self.sources[language].items()
            }

    def _environment(self, language: str) -> Environment:
        locale = _BABEL_LOCALES[language]
        timezone = self.timezone
        wrap = language == "ar"

        def digits(text: str) -> str:
            return arabic_digits(text) if wrap else text

        def finalize(value: Any) -> Any:
            if not wrap or isinstance(value, Markup) or value is None:
                return value
            if isinstance(value, str) and not value:
                return value
            if isinstance(value, int) and not isinstance(value, bool):
                value = digits(str(value))
            return isolate(str(value))

        def as_datetime(value: datetime, style: str = "medium") -> str:
            return digits(format_datetime(value.astimezone(timezone), style, locale=locale))

        def as_date(value: date | datetime, style: str = "full") -> str:
            if isinstance(value, datetime):
                value = value.astimezone(timezone).date()
            return digits(format_date(value, style, locale=locale))

        def as_time(value: datetime, style: str = "short") -> str:
            return digits(format_time(value.astimezone(timezone), style, locale=locale))

        def as_number(value: float | int) -> str:
            return format_number(language, value)

        def counted(value: int, prefix: str) -> Markup:
            """`value` with its noun in the agreeing plural form (keys `<prefix>.<form>`)."""
            form = "two" if value == 2 else Locale.parse(locale).plural_form(value)
            templates = self._templates[language]
            template = templates.get(f"{prefix}.{form}") or templates[f"{prefix}.other"]
            return Markup(template.render(n=value).strip())  # noqa: S704 - autoescaped

        def listing(values: Iterable[object]) -> Markup:
            """Phrases joined as the language joins a list; empty phrases are left out."""
            items = [Markup.escape(value) for value in values if value]
            if wrap:
                return Markup(" و").join(items)
            if len(items) <= 2:
                return Markup(" and ").join(items)
            return Markup(", ").join(items[:-1]) + Markup(" and ") + items[-1]

        def as_attribute(value: object) -> Markup:
            """For values inside an HTML attribute (a link): escaped, never direction-wrapped."""
            return Markup.escape(str(value))

        def as_link(value: object) -> Markup:
            """A full address as a tappable link whose text is the address itself: escaped
            once, never direction-wrapped, so copying it picks up no invisible marks."""
            address = Markup.escape(str(value))
            return Markup('<a href="{0}">{0}</a>').format(address)

        environment = Environment(
            autoescape=True,
            undefined=StrictUndefined,
            finalize=finalize,
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        environment.filters["datetime"] = as_datetime
        environment.filters["date"] = as_date
        environment.filters["time"] = as_time
        environment.filters["number"] = as_number
        environment.filters["attr"] = as_attribute
        environment.filters["link"] = as_link
        environment.filters["counted"] = counted
        environment.filters["listing"] = listing
        return environment

    def list_separator(self, language: str) -> str:
        """What separates items of a list inside a sentence: "، " in Arabic, ", " in English."""
        return _LIST_SEPARATORS.get(language, ", ")

    def digits(self, language: str, text: str) -> str:
        """Digits of `text` in the language's style (for numbers a service formats itself)."""
        return arabic_digits(text) if language == "ar" else text

    def keys(self, language: str) -> set[str]:
        return set(self._templates[language])

    def has(self, key: str) -> bool:
        return all(key in self._templates[language] for language in LANGUAGES)

    def render(self, language: str, key: str, /, **variables: Any) -> str:
        if language not in self._templates:
            language = LANGUAGES[0]
        try:
            template = self._templates[language][key]
        except KeyError:
            raise MissingMessage(f"{language}:{key}") from None
        return template.render(**variables).strip()

    def plain(self, language: str, key: str, /, **variables: Any) -> str:
        """Render for places without HTML parse mode (buttons, file names): no escaping."""
        return html.unescape(self.render(language, key, **variables))
