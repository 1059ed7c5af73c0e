"""Delivering updates to a bot's webhook endpoint the way Telegram does."""

from __future__ import annotations

from typing import Any

import aiohttp

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def post_update(url: str, update: dict[str, Any], secret: str | None) -> int:
    """POST ``update`` as JSON to ``url`` and return the HTTP status.

    The ``X-Telegram-Bot-Api-Secret-Token`` header carries ``secret`` and is omitted when
    ``secret`` is ``None``.
    """
    headers = {} if secret is None else {SECRET_HEADER: secret}
    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(url, json=update, headers=headers) as response,
    ):
        await response.read()
        return response.status


async def post_body(url: str, body: bytes, secret: str | None) -> int:
    """POST raw bytes (malformed or deeply nested JSON) and return the HTTP status."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(url, data=body, headers=headers) as response,
    ):
        await response.read()
        return response.status
