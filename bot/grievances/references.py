"""Grievance references: ``GR-XXXX-XXXX``, random, unguessable, with a check character.

Alphabet: Crockford's base 32 (``0123456789ABCDEFGHJKMNPQRSTVWXYZ``), which leaves out I, L,
O and U so that nothing reads as another character. The first seven characters are drawn
with ``secrets`` (32⁷ ≈ 34 billion possibilities); the eighth is a Luhn mod 32 check
character, which catches every single mistyped character and nearly every swap of two
neighbours, so a typo is told apart from a real reference.

Reading is forgiving: lower case, spaces and missing dashes are fine, the ``GR`` prefix is
optional, Arabic-Indic digits are read as digits, and the usual confusions are corrected
(O → 0, I and L → 1).
"""

from __future__ import annotations

import re
import secrets

from bot.engines.numbers import normalise_digits

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BASE = len(ALPHABET)
BODY_LENGTH = 7
PREFIX = "GR"
_VALUES = {char: index for index, char in enumerate(ALPHABET)}
_CONFUSIONS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-_.‐‑–—−]+")


def check_character(body: str) -> str:
    """The Luhn mod 32 check character of `body` (characters of ALPHABET)."""
    factor = 2
    total = 0
    for char in reversed(body):
        addend = factor * _VALUES[char]
        factor = 1 if factor == 2 else 2
        total += addend // BASE + addend % BASE
    return ALPHABET[(BASE - total % BASE) % BASE]


def is_valid_code(code: str) -> bool:
    """True if the eight characters of `code` carry a correct check character."""
    if len(code) != BODY_LENGTH + 1 or any(char not in _VALUES for char in code):
        return False
    return check_character(code[:-1]) == code[-1]


def format_reference(code: str) -> str:
    return f"{PREFIX}-{code[:4]}-{code[4:]}"


def new_reference() -> str:
    """A fresh random reference (uniqueness is the caller's to check)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return format_reference(body + check_character(body))


def parse_reference(text: str | None) -> str | None:
    """The canonical ``GR-XXXX-XXXX`` for what a member typed, or None if it is not one."""
    if not text:
        return None
    cleaned = _SEPARATORS.sub("", normalise_digits(text)).upper()
    if cleaned.startswith(PREFIX) and len(cleaned) == len(PREFIX) + BODY_LENGTH + 1:
        cleaned = cleaned[len(PREFIX) :]
    code = cleaned.translate(_CONFUSIONS)
    if not is_valid_code(code):
        return None
    return format_reference(code)
