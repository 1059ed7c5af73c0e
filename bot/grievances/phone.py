"""The phone forgets (issue 15): after a report is sent, the member may remove the
conversation of the report from their phone. The bot deletes its own messages and the
member's from the first message of the report flow up to, not including, the message with
the reference, which stays. Telegram lets a bot delete messages in a private chat for 48
hours; later the member is told to delete them in Telegram.

Message ids in a private chat are one sequence shared by the member's and the bot's
messages, so the flow's messages are the ids between the first one and the reference.
"""

from __future__ import annotations

from datetime import datetime, timedelta

FORGET_BUTTON = "gr:forget:"
DELETE_WINDOW = timedelta(hours=47)  # Telegram's limit is 48 hours; keep an hour's margin
MAX_MESSAGES = 500  # a report flow is far shorter; a forged button cannot ask for more
BATCH = 100  # deleteMessages takes 1-100 ids


def forget_button_data(first_message_id: int) -> str:
    return f"{FORGET_BUTTON}{first_message_id}"


def first_message_of(data: str) -> int | None:
    value = data.removeprefix(FORGET_BUTTON)
    return int(value) if value.isascii() and value.isdigit() else None


def batches_to_delete(first_message_id: int, reference_message_id: int) -> list[list[int]]:
    """The ids of the flow's messages (the reference message excluded), in batches."""
    first = max(first_message_id, reference_message_id - MAX_MESSAGES, 1)
    ids = list(range(first, reference_message_id))
    return [ids[start : start + BATCH] for start in range(0, len(ids), BATCH)]


def still_deletable(sent_at: datetime, now: datetime) -> bool:
    return now - sent_at < DELETE_WINDOW
