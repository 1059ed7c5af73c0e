"""Decoding of Bot API request parameters as python-telegram-bot sends them.

PTB (``RequestParameter.json_value``) sends every parameter as a string: ``str`` values
verbatim, everything else ``json.dumps``-ed (``chat_id=123``, ``disable_notification=true``,
``reply_markup={...}``). Bodies are ``application/x-www-form-urlencoded``, or
``multipart/form-data`` when files are uploaded, and an empty ``application/octet-stream``
body for methods without parameters (``getMe``). Because a text of ``"123"`` arrives exactly
like the number ``123``, free-text parameters are never JSON-decoded.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from .records import UploadedFile

TEXT_PARAMS = frozenset(
    {
        "action",
        "address",
        "business_connection_id",
        "callback_query_id",
        "caption",
        "description",
        "emoji",
        "explanation",
        "file_name",
        "first_name",
        "foursquare_id",
        "ip_address",
        "inline_message_id",
        "language_code",
        "last_name",
        "message_effect_id",
        "name",
        "parse_mode",
        "phone_number",
        "question",
        "secret_token",
        "short_description",
        "text",
        "title",
        "url",
        "vcard",
        # Media given by file id or URL instead of an upload.
        "animation",
        "audio",
        "document",
        "photo",
        "sticker",
        "thumbnail",
        "video",
        "video_note",
        "voice",
    }
)
"""Parameters whose values are free text and must stay strings."""

_JSON_NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")


def decode_value(name: str, raw: str) -> Any:
    """Decode one form value: JSON objects, arrays, numbers and booleans; text stays text."""
    if name in TEXT_PARAMS:
        return raw
    stripped = raw.strip()
    looks_like_json = (
        stripped[:1] in ("{", "[")
        or stripped in ("true", "false", "null")
        or _JSON_NUMBER.fullmatch(stripped) is not None
    )
    if not looks_like_json:
        return raw
    try:
        return json.loads(stripped)
    except ValueError:
        return raw


async def read_parameters(
    request: web.Request,
) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Decode query string and body of ``request`` into ``(params, files)``.

    Form values (urlencoded or multipart, and the query string) go through
    :func:`decode_value`; a JSON body is taken as already typed.
    """
    params: dict[str, Any] = {
        name: decode_value(name, value) for name, value in request.query.items()
    }
    files: dict[str, UploadedFile] = {}
    content_type = request.content_type
    if content_type == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("JSON body must be an object")
        params.update(body)
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                files[name] = (value.filename, value.file.read())
            elif isinstance(value, str):
                params[name] = decode_value(name, value)
            else:  # a bytes part without filename
                params[name] = decode_value(name, value.decode("utf-8", "replace"))
    return params, files
