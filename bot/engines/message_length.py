"""Telegram's length limits, counted as Telegram counts them (issue 14, point 6).

A message may hold 4,096 characters and a caption 1,024, counted in UTF-16 code units of the
text *after* entity parsing: HTML tags do not count, `&amp;` counts as one, and a character
outside the Basic Multilingual Plane (most emoji) counts as two. `split_html` cuts a longer
message into pieces that each fit, preferring a line break, then a space; tags open at a cut
are closed at the end of the piece and opened again at the start of the next, and every piece
after the first starts with the "(continued)" marker in the reader's language.

Pure functions: no Telegram, no database.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
CONTINUED_KEY = "delivery.continued"

_TOKEN = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^>]*)>|&(?:#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN = re.compile(r"[A-Za-z]")


def utf16_units(text: str) -> int:
    """Length of plain text as Telegram counts it."""
    return len(text) + sum(1 for character in text if ord(character) > 0xFFFF)


def visible_text(markup: str) -> str:
    """What a reader sees of an HTML-mode message: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]*>", "", markup))


def visible_length(markup: str, *, html_mode: bool = True) -> int:
    return utf16_units(visible_text(markup) if html_mode else markup)


def fits(markup: str, limit: int = MESSAGE_LIMIT, *, html_mode: bool = True) -> bool:
    return visible_length(markup, html_mode=html_mode) <= limit


def language_of_text(text: str, default: str = "ar") -> str:
    """The catalogue language a text is written in, judged by its letters (for the
    "(continued)" marker of a message composed without a known reader)."""
    arabic = len(_ARABIC.findall(text))
    latin = len(_LATIN.findall(visible_text(text)))
    if arabic == latin == 0:
        return default
    return "ar" if arabic >= latin else "en"


@dataclass(frozen=True)
class _Token:
    raw: str
    width: int  # UTF-16 units a reader sees (0 for a tag)
    tag: str | None = None  # the tag name, for tags
    closing: bool = False


def _tokens(markup: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    for match in _TOKEN.finditer(markup):
        tokens.extend(_Token(c, utf16_units(c)) for c in markup[position : match.start()])
        if match.group(2) is not None:
            tokens.append(_Token(match.group(0), 0, match.group(2).lower(), match.group(1) == "/"))
        else:
            tokens.append(_Token(match.group(0), utf16_units(html.unescape(match.group(0)))))
        position = match.end()
    tokens.extend(_Token(c, utf16_units(c)) for c in markup[position:])
    return tokens


def _close(stack: list[_Token]) -> str:
    return "".join(f"</{token.tag}>" for token in reversed(stack))


def _reopen(stack: list[_Token]) -> str:
    return "".join(token.raw for token in stack)


def _advance(stack: list[_Token], token: _Token) -> list[_Token]:
    if token.tag is None or token.raw.endswith("/>"):
        return stack
    if not token.closing:
        return [*stack, token]
    for index in range(len(stack) - 1, -1, -1):
        if stack[index].tag == token.tag:
            return stack[:index] + stack[index + 1 :]
    return stack


def split_html(
    markup: str, continued: str, limit: int = MESSAGE_LIMIT, *, html_mode: bool = True
) -> list[str]:
    """`markup` as pieces that each fit `limit`; every piece after the first begins with
    `continued` (already escaped for HTML, or plain text when `html_mode` is False)."""
    if visible_length(markup, html_mode=html_mode) <= limit:
        return [markup]
    tokens = _tokens(markup) if html_mode else [_Token(c, utf16_units(c)) for c in markup]
    marker = f"{continued}\n"
    marker_width = visible_length(marker, html_mode=html_mode)
    pieces: list[str] = []
    stack: list[_Token] = []
    start = 0
    while start < len(tokens):
        first = not pieces
        budget = limit - (0 if first else marker_width)
        if not first:  # a continuation does not begin with the blank left by the cut
            while (
                start < len(tokens) and tokens[start].tag is None and tokens[start].raw.isspace()
            ):
                start += 1
            if start >= len(tokens):
                break
        opening = _reopen(stack)
        used, index, current = 0, start, stack
        line_break: tuple[int, list[_Token]] | None = None
        space_break: tuple[int, list[_Token]] | None = None
        while index < len(tokens):
            token = tokens[index]
            if used + token.width > budget:
                break
            used += token.width
            current = _advance(current, token)
            index += 1
            if token.raw == "\n":
                line_break = (index, current)
            elif token.raw.isspace():
                space_break = (index, current)
        end, end_stack = index, current
        if index < len(tokens):
            for candidate in (line_break, space_break):
                if candidate is not None and used and candidate[0] - start >= (index - start) // 2:
                    end, end_stack = candidate
                    break
        body = "".join(token.raw for token in tokens[start:end])
        if end == start:  # a single token wider than the budget: cannot happen with text
            end += 1
            body = tokens[start].raw
            end_stack = _advance(stack, tokens[start])
        prefix = "" if first else marker
        pieces.append(
            f"{prefix}{opening}{body}{_close(end_stack)}" if html_mode else prefix + body
        )
        stack, start = end_stack, end
    return [piece for piece in pieces if visible_text(piece).strip()] or [markup[:limit]]
