"""A simulated Telegram user talking to the bot through :class:`FakeBotApi`.

Sending methods push updates and return their ``update_id`` immediately (they never block,
so they are safe to call from async tests); reading methods are coroutines that wait for
the bot's replies in the user's chat.
"""

from __future__ import annotations

import asyncio
from typing import Any

from . import factories
from .factories import TgChat, TgUser
from .records import SentMessage
from .server import FakeBotApi


class SimulatedUser:
    """One user in one chat (their private chat with the bot unless ``chat`` is given).

    Message ids of the user's messages are taken from the fake server's per-chat sequence,
    so they interleave with the bot's message ids as on Telegram.
    """

    def __init__(self, api: FakeBotApi, user: TgUser, chat: TgChat | None = None) -> None:
        self.api = api
        self.user = user
        self.chat = chat or TgChat.private_with(user)

    @property
    def chat_id(self) -> int:
        """Id of the chat this user writes in."""
        return self.chat.id

    def _next_message_id(self) -> int:
        return self.api.allocate_message_id(self.chat.id)

    def _push(self, update: dict[str, Any]) -> int:
        return self.api.push_update(update)

    # ------------------------------------------------------------------ sending

    def send(self, text: str) -> int:
        """Send a text message; returns the update id."""
        return self._push(
            factories.text_message(
                self.user, text, chat=self.chat, message_id=self._next_message_id()
            )
        )

    def command(self, text: str) -> int:
        """Send a command: ``"start"``, ``"/start"`` and ``"/start arg"`` all work."""
        return self.send(text if text.startswith("/") else f"/{text}")

    def press(
        self, message: SentMessage, *, text: str | None = None, data: str | None = None
    ) -> int:
        """Press an inline button of ``message`` by visible ``text`` (substring) or ``data``.

        Buttons are looked up in the message's current (possibly edited) state.
        """
        if (text is None) == (data is None):
            raise ValueError("press() needs exactly one of text= or data=")
        current = self.api.get_message(message.chat_id, message.message_id) or message
        buttons = current.buttons()
        if data is None:
            exact = [value for label, value in buttons if label == text]
            partial = [value for label, value in buttons if text and text in label]
            matches = exact or partial
            if len(matches) != 1:
                problem = "no inline button" if not matches else "several inline buttons"
                raise AssertionError(
                    f"{problem} matching {text!r} on message #{current.message_id} "
                    f"({current.content[:60]!r}); available buttons: {buttons}"
                )
            data = matches[0]
        if not data:
            raise AssertionError(f"button {text!r} has no callback_data; buttons: {buttons}")
        return self._push(
            factories.callback_query(self.user, data, self.api.message_dict(current))
        )

    def send_voice(self) -> int:
        """Send a voice note."""
        return self._push(
            factories.voice_message(self.user, chat=self.chat, message_id=self._next_message_id())
        )

    def send_photo(self, caption: str | None = None) -> int:
        """Send a photo with an optional caption."""
        return self._push(
            factories.photo_message(
                self.user, caption=caption, chat=self.chat, message_id=self._next_message_id()
            )
        )

    def upload_photo(self, content: bytes, caption: str | None = None) -> int:
        """Send a photo whose bytes the bot can download with getFile (every size gives them:
        the fake does not rescale)."""
        update = factories.photo_message(
            self.user, caption=caption, chat=self.chat, message_id=self._next_message_id()
        )
        for size in update["message"]["photo"]:
            size["file_size"] = len(content)
            self.api.add_user_file(size["file_id"], "photo.png", content, folder="photos")
        return self._push(update)

    def send_sticker(self) -> int:
        """Send a sticker."""
        return self._push(
            factories.sticker_message(
                self.user, chat=self.chat, message_id=self._next_message_id()
            )
        )

    def send_location(self) -> int:
        """Share a location."""
        return self._push(
            factories.location_message(
                self.user, chat=self.chat, message_id=self._next_message_id()
            )
        )

    def send_contact(self) -> int:
        """Share the user's own contact."""
        return self._push(
            factories.contact_message(
                self.user, chat=self.chat, message_id=self._next_message_id()
            )
        )

    def send_document(self) -> int:
        """Send a document."""
        return self._push(
            factories.document_message(
                self.user, chat=self.chat, message_id=self._next_message_id()
            )
        )

    def upload_document(self, file_name: str, content: bytes, mime_type: str) -> int:
        """Send a document whose bytes the bot can download with getFile."""
        update = factories.document_message(
            self.user,
            file_name=file_name,
            mime_type=mime_type,
            file_size=len(content),
            chat=self.chat,
            message_id=self._next_message_id(),
        )
        document = update["message"]["document"]
        self.api.add_user_file(document["file_id"], file_name, content)
        return self._push(update)

    def send_video(self) -> int:
        """Send a video."""
        return self._push(
            factories.video_message(self.user, chat=self.chat, message_id=self._next_message_id())
        )

    def edit(self, original_message_id: int, text: str) -> int:
        """Edit one of the user's earlier messages."""
        return self._push(
            factories.edited_text_message(self.user, original_message_id, text, chat=self.chat)
        )

    def forward(self, text: str) -> int:
        """Forward a text written by someone else."""
        return self._push(
            factories.forwarded_text_message(
                self.user, text, chat=self.chat, message_id=self._next_message_id()
            )
        )

    def block_bot(self) -> int:
        """Block the bot: later sends get 403 and a ``my_chat_member`` update is pushed."""
        self.api.block_chat(self.chat.id)
        return self._push(
            factories.my_chat_member(self.user, chat=self.chat, bot_user=self.api.bot_user)
        )

    # ------------------------------------------------------------------ reading

    async def reply(self, timeout: float = 10.0) -> SentMessage:
        """The next bot message in this chat not returned before."""
        return await self.api.next_message(self.chat.id, timeout)

    async def replies(self, n: int, timeout: float = 10.0) -> list[SentMessage]:
        """The next ``n`` bot messages; ``timeout`` applies to the whole batch."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        received = []
        for _ in range(n):
            remaining = max(deadline - loop.time(), 0.0)
            received.append(await self.api.next_message(self.chat.id, remaining))
        return received

    async def assert_no_reply(self, wait: float = 0.3) -> None:
        """Fail if the bot sends a new message to this chat within ``wait`` seconds."""
        try:
            unexpected = await self.api.next_message(self.chat.id, wait)
        except AssertionError:
            return
        raise AssertionError(f"expected no reply but the bot sent: {unexpected.content!r}")

    def messages(self) -> list[SentMessage]:
        """Every bot message sent to this chat so far."""
        return self.api.messages_to(self.chat.id)

    def last_message(self) -> SentMessage:
        """The bot's most recent message in this chat (AssertionError if none)."""
        messages = self.messages()
        if not messages:
            raise AssertionError(f"the bot has not sent anything to chat {self.chat.id}")
        return messages[-1]
