"""Links made inert before staff text reaches a reporter (SPEC §7, issue 16).

A tap on a link tells whoever runs its server the reporter's IP address, so a staff reply is
relayed with every address defanged: `https://track.example/u` → `hxxps://track[.]example/u`,
`name@mail.example` → `name[@]mail[.]example`, `www.x.example` → `www[.]x[.]example`. Telegram
finds no link, e-mail or domain in the result, so the message has no link entities; link
previews are off for every message the outbox sends.
"""

from __future__ import annotations

import re

_ADDRESS = re.compile(
    r"""
    (?:\b(?:https?|ftp|tg|tonsite)://[^\s<>"']+)            # with a scheme
    | (?:\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+)                     # an e-mail address
    | (?:\b(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}\b  # a bare domain
       (?:[/?#:][^\s<>"']*)?)
    """,
    re.IGNORECASE | re.VERBOSE,
)
_SCHEMES = {"http": "hxxp", "https": "hxxps", "ftp": "fxp", "tg": "t_g", "tonsite": "t_onsite"}


def _inert(address: str) -> str:
    scheme, separator, rest = address.partition("://")
    if separator:
        address = _SCHEMES.get(scheme.lower(), scheme) + "://" + rest
    return address.replace(".", "[.]").replace("@", "[@]")


def defang_links(text: str) -> tuple[str, int]:
    """The text with every address made inert, and how many there were."""
    found = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal found
        found += 1
        return _inert(match.group(0))

    return _ADDRESS.sub(replace, text), found
