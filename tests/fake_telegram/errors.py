"""Bot API error responses, shaped exactly like Telegram's.

Handlers raise :class:`BotApiError`; the server turns it into the JSON error body
``{"ok": false, "error_code": ..., "description": ..., "parameters": ...}``.
"""

from __future__ import annotations

from typing import Any

BLOCKED_BY_USER = "Forbidden: bot was blocked by the user"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)

_DEFAULT_DESCRIPTIONS: dict[int, str] = {
    400: "Bad Request: injected failure",
    401: "Unauthorized",
    403: BLOCKED_BY_USER,
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class BotApiError(Exception):
    """An error response of the Bot API (raised by handlers, rendered by the server)."""

    def __init__(
        self,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {description}")
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.parameters = dict(parameters or {})

    def body(self) -> dict[str, Any]:
        """The JSON body Telegram would return for this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        parameters = dict(self.parameters)
        if self.retry_after is not None:
            parameters["retry_after"] = self.retry_after
        if parameters:
            body["parameters"] = parameters
        return body

    @classmethod
    def for_status(
        cls, status: int, *, retry_after: int | None = None, description: str | None = None
    ) -> BotApiError:
        """Build the error Telegram typically sends for ``status``.

        A 429 always carries ``retry_after`` (default 1) and, unless overridden, the
        description ``"Too Many Requests: retry after N"``.
        """
        if status == 429:
            seconds = 1 if retry_after is None else retry_after
            text = description or f"Too Many Requests: retry after {seconds}"
            return cls(status, text, retry_after=seconds)
        text = description or _DEFAULT_DESCRIPTIONS.get(status, f"Error: HTTP {status}")
        return cls(status, text, retry_after=retry_after)


def bad_request(reason: str) -> BotApiError:
    """A 400 error with description ``"Bad Request: <reason>"``."""
    return BotApiError(400, f"Bad Request: {reason}")


def blocked_by_user() -> BotApiError:
    """The 403 error Telegram returns when the user blocked the bot."""
    return BotApiError(403, BLOCKED_BY_USER)


KICKED_FROM_GROUP = "Forbidden: bot was kicked from the supergroup chat"
GROUP_UPGRADED = "Bad Request: group chat was upgraded to a supergroup chat"


def group_upgraded(new_chat_id: int) -> BotApiError:
    """The 400 Telegram returns for a group that became a supergroup."""
    return BotApiError(400, GROUP_UPGRADED, parameters={"migrate_to_chat_id": new_chat_id})


def kicked_from_group() -> BotApiError:
    """The 403 Telegram returns once the bot was removed from a group."""
    return BotApiError(403, KICKED_FROM_GROUP)


def too_many_requests(retry_after: int) -> BotApiError:
    """A 429 flood-control error asking the client to wait ``retry_after`` seconds."""
    return BotApiError.for_status(429, retry_after=retry_after)
