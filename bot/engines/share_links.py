"""Links that open the bot on one session or survey, as organisers share and print them.

A shared link is always the full `https://t.me/<bot>?start=<payload>` (Telegram makes it
tappable; a bare `?start=s12` is not), and messages show it through the catalogue's `link`
filter: an `<a>` whose text is the address itself, on a line of its own, never wrapped in
direction marks (copying it from an Arabic message gives the address and nothing else).

Services do not know the bot's username, so they name a link as `StartLink("s12")`; the reply
layer turns it into the address before rendering.

`/poster` names what it is for as a payload too: `s12` (session 12) or `v7` (survey 7),
in Latin or Arabic-Indic digits (`s١٢`), with or without `#`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from bot.engines.numbers import normalise_digits

SESSION: Final = "s"
SURVEY: Final = "v"
_PAYLOAD = re.compile(r"#?([sv])#?(\d{1,9})", re.IGNORECASE)


@dataclass(frozen=True)
class StartLink:
    """A link that starts the bot with `payload` (`s12`, `v7`)."""

    payload: str

    def url(self, bot_username: str) -> str:
        return start_url(bot_username, self.payload)


def start_url(bot_username: str, payload: str) -> str:
    return f"https://t.me/{bot_username}?start={payload}"


@dataclass(frozen=True)
class LinkTarget:
    """A session or survey named by its link payload."""

    kind: Literal["s", "v"]
    id: int

    @property
    def payload(self) -> str:
        return f"{self.kind}{self.id}"


def parse_target(text: str) -> LinkTarget | None:
    """`s12`, `S12`, `#v7`, `s١٢` or `s 12` → the target; anything else → None."""
    cleaned = normalise_digits(text).replace(" ", "")
    match = _PAYLOAD.fullmatch(cleaned)
    if match is None:
        return None
    kind: Literal["s", "v"] = "s" if match.group(1).lower() == SESSION else "v"
    number = int(match.group(2))
    if number <= 0:
        return None
    return LinkTarget(kind, number)
