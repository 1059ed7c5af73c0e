"""A fake Telegram Bot API for end-to-end tests with the real python-telegram-bot.

* :class:`FakeBotApi` - HTTP server PTB talks to via ``base_url``; records calls and messages.
* :mod:`.factories` - incoming update dicts (:class:`TgUser`, :class:`TgChat`).
* :class:`SimulatedUser` - pushes a user's updates and awaits the bot's replies.
* :func:`post_update` - delivers an update to a webhook endpoint.
"""

from . import factories
from .factories import TgChat, TgUser
from .records import ApiCall, SentMessage
from .server import FakeBotApi
from .users import SimulatedUser
from .webhook_client import post_body, post_update

__all__ = [
    "ApiCall",
    "FakeBotApi",
    "SentMessage",
    "SimulatedUser",
    "TgChat",
    "TgUser",
    "factories",
    "post_body",
    "post_update",
]
