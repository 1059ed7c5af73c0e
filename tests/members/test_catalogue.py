"""The message catalogues (SPEC §6): both languages complete, every key renders, Arabic
isolates substituted values, times are shown in Asia/Baghdad, member text is escaped."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from jinja2 import Environment, meta

from messages import LANGUAGES, Catalogue
from messages.catalogue import (
    FIRST_STRONG_ISOLATE,
    POP_DIRECTIONAL_ISOLATE,
    load_catalogue_sources,
    load_documented_variables,
)

CATALOGUE = Catalogue(ZoneInfo("Asia/Baghdad"))
SOURCES = {language: load_catalogue_sources(language) for language in LANGUAGES}
DOCUMENTED = load_documented_variables()
ALL_KEYS = sorted(set().union(*(set(s) for s in SOURCES.values())))


PARSER = Environment()
PARSER.filters.update(
    {name: str for name in ("datetime", "date", "time", "number", "counted", "listing", "link")}
)


def undeclared(source: str) -> set[str]:
    """Variables a template uses (only parsed, so the filters need only exist by name)."""
    return set(meta.find_undeclared_variables(PARSER.parse(source)))


def test_every_key_exists_in_both_languages() -> None:
    arabic, english = set(SOURCES["ar"]), set(SOURCES["en"])
    assert sorted(arabic - english) == [], "keys only in Arabic"
    assert sorted(english - arabic) == [], "keys only in English"


@pytest.mark.parametrize("key", ALL_KEYS)
def test_every_key_renders_in_both_languages_with_its_documented_variables(key: str) -> None:
    variables = DOCUMENTED.get(key, {})
    for language in LANGUAGES:
        needed = undeclared(SOURCES[language][key])
        missing = needed - set(variables)
        assert not missing, f"{key} ({language}) uses undocumented variables {sorted(missing)}"
        rendered = CATALOGUE.render(language, key, **variables)
        assert rendered.strip(), f"{key} ({language}) renders empty"


def test_documented_variables_belong_to_existing_keys() -> None:
    assert sorted(set(DOCUMENTED) - set(ALL_KEYS)) == []


def test_isolates_wrap_substituted_values_in_arabic_only() -> None:
    variables: dict[str, Any] = {"user_id": 123, "role": "moderator"}
    arabic = CATALOGUE.render("ar", "staff.granted", **variables)
    english = CATALOGUE.render("en", "staff.granted", **variables)
    assert f"{FIRST_STRONG_ISOLATE}١٢٣{POP_DIRECTIONAL_ISOLATE}" in arabic
    assert f"{FIRST_STRONG_ISOLATE}moderator{POP_DIRECTIONAL_ISOLATE}" in arabic
    assert FIRST_STRONG_ISOLATE not in english and POP_DIRECTIONAL_ISOLATE not in english
    assert "123" in english


def test_a_datetime_is_shown_in_baghdad_time_in_both_languages() -> None:
    moment = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)  # 10:00 in Baghdad (UTC+3)
    variables = {
        "at": moment,
        "who": "Huda (moderator)",
        "what": "added a note to GR-7K3M-Q2XA",
        "reason": None,
    }
    english = CATALOGUE.render("en", "staff.audit.entry", **variables)
    arabic = CATALOGUE.render("ar", "staff.audit.entry", **variables)
    assert "10:00" in english and "07:00" not in english
    assert "١٠:٠٠" in arabic and "10:00" not in arabic
    assert "01/03/2026" in english


def test_member_text_is_html_escaped() -> None:
    hostile = "<b>x</b> & <a href='http://evil'>y</a>"
    for language in LANGUAGES:
        rendered = CATALOGUE.render(language, "staff.unknown_role", given=hostile, roles="admin")
        assert "<b>x</b>" not in rendered and "<a href" not in rendered
        assert "&lt;b&gt;x&lt;/b&gt; &amp; &lt;a href=" in rendered
        plain = CATALOGUE.plain(language, "staff.unknown_role", given=hostile, roles="admin")
        assert hostile in plain
