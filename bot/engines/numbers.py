"""Reading numbers the way Iraqi members type them: Latin, Arabic-Indic or Persian digits."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

_DIRECTION_MARKS = dict.fromkeys(
    map(ord, "\u200e\u200f\u061c\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d\u202e")
)
_SEPARATORS = {ord("٫"): ".", ord("٬"): "", ord(","): "", ord("،"): "", ord("−"): "-"}
_INTEGER = re.compile(r"[+-]?\d{1,15}")
_DECIMAL = re.compile(r"[+-]?(\d{1,15}(\.\d{1,10})?|\.\d{1,10})")


def normalise_digits(text: str) -> str:
    """Arabic-Indic (٠-٩) and Extended Arabic-Indic (۰-۹) digits to ASCII; marks removed."""
    text = text.translate(_DIRECTION_MARKS).strip()
    out = []
    for char in text:
        if char.isdigit():
            try:
                out.append(str(unicodedata.decimal(char)))
                continue
            except ValueError:
                pass
        out.append(char)
    return "".join(out)


def parse_integer(text: str | None) -> int | None:
    """The whole number in `text`, or None if it is not one ("٢٥" → 25, "abc" → None)."""
    if text is None:
        return None
    cleaned = normalise_digits(text).translate(_SEPARATORS).replace(" ", "")
    if not _INTEGER.fullmatch(cleaned):
        return None
    return int(cleaned)


def parse_decimal(text: str | None) -> Decimal | None:
    """A decimal number ("٣٫٥" → 3.5, "3.5" → 3.5), or None."""
    if text is None:
        return None
    cleaned = normalise_digits(text).replace("٫", ".").replace("٬", "").replace(" ", "")
    cleaned = cleaned.replace("،", "").replace("−", "-")
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    if not _DECIMAL.fullmatch(cleaned):
        return None
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None
