"""Validation of Telegram-flavoured HTML (``parse_mode="HTML"``).

Telegram rejects messages whose HTML uses unsupported tags or is unbalanced with
``400 Bad Request: can't parse entities: ...``; catching that in tests saves a production
incident. Only the tag structure is checked, and descriptions omit Telegram's byte offsets.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "blockquote",
        "code",
        "del",
        "em",
        "i",
        "ins",
        "pre",
        "s",
        "span",
        "strike",
        "strong",
        "tg-emoji",
        "tg-spoiler",
        "u",
    }
)

_STRAY_LESS_THAN = re.compile(r"<(?![A-Za-z/])")


class _TagChecker(HTMLParser):
    """Collects the visible text and the first structural error of an HTML message."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open_tags: list[str] = []
        self.visible: list[str] = []
        self.error: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in SUPPORTED_TAGS:
            self._fail(f'Unsupported start tag "{tag}"')
        elif tag == "span" and ("class", "tg-spoiler") not in attrs:
            self._fail('Tag "span" must have class "tg-spoiler"')
        self.open_tags.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._fail(f'Unsupported start tag "{tag}"')

    def handle_endtag(self, tag: str) -> None:
        if not self.open_tags or self.open_tags[-1] != tag:
            self._fail(f'Unmatched end tag "{tag}"')
            return
        self.open_tags.pop()

    def handle_data(self, data: str) -> None:
        self.visible.append(data)

    def _fail(self, description: str) -> None:
        if self.error is None:
            self.error = description


def html_error(text: str) -> str | None:
    """Why Telegram would refuse ``text`` as HTML, or ``None`` if it is acceptable."""
    if _STRAY_LESS_THAN.search(text):
        return "Unexpected character after '<'; escape it as &lt;"
    checker = _TagChecker()
    checker.feed(text)
    checker.close()
    if checker.error is None and checker.open_tags:
        return f'Can\'t find end tag corresponding to start tag "{checker.open_tags[-1]}"'
    return checker.error


def visible_text(text: str, parse_mode: str | None) -> str:
    """The text a user would see (tags removed, entities unescaped for HTML)."""
    if (parse_mode or "").upper() != "HTML":
        return text
    checker = _TagChecker()
    checker.feed(text)
    checker.close()
    return "".join(checker.visible)
