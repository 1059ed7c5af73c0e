"""Message catalogues (one per language) rendered with Jinja2 for HTML parse mode (SPEC §6).

Catalogue files live in `messages/<lang>/*.toml`; tables nest keys (`[sessions] full = "..."`
is the key `sessions.full`). `messages/variables/*.toml` documents, for every key that takes
variables, an example value of each; the test suite renders every key with them.

Example variables for tests live in `messages/variables/<feature>.toml`.

In Arabic, every value substituted into a message is wrapped in Unicode first-strong
isolates (U+2068 … U+2069), so references, names and numbers keep their own direction
inside right-to-left text.
"""

from __future__ import annotations

import functools
import html
import tomllib
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal
from jinja2 import Environment, StrictUndefined, Template
from markupsafe import Markup

CATALOGUE_DIR = Path(__file__).parent
LANGUAGES = ("ar", "en")
FIRST_STRONG_ISOLATE = "\u2068"
POP_DIRECTIONAL_ISOLATE = "\u2069"
_BABEL_LOCALES = {"ar": "ar_IQ", "en": "en_GB"}


class MissingMessage(KeyError):
    """No such key in the catalogue."""


def isolate(value: str) -> str:
    """Wrap `value` so its direction does not leak into the surrounding text."""
    return f"{FIRST_STRONG_ISOLATE}{value}{POP_DIRECTIONAL_ISOLATE}"


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

        def finalize(value: Any) -> Any:
            if not wrap or isinstance(value, Markup) or value is None:
                return value
            if isinstance(value, str) and not value:
                return value
            return isolate(str(value))

        def as_datetime(value: datetime, style: str = "medium") -> str:
            return format_datetime(value.astimezone(timezone), style, locale=locale)

        def as_date(value: date | datetime, style: str = "full") -> str:
            if isinstance(value, datetime):
                value = value.astimezone(timezone).date()
            return format_date(value, style, locale=locale)

        def as_time(value: datetime, style: str = "short") -> str:
            return format_time(value.astimezone(timezone), style, locale=locale)

        def as_number(value: float | int) -> str:
            return format_decimal(value, locale=locale)

        def as_attribute(value: object) -> Markup:
            """For values inside an HTML attribute (a link): escaped, never direction-wrapped."""
            return Markup.escape(str(value))

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
        return environment

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
