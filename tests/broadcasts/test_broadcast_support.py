"""Steps shared by the announcement tests (this module holds no tests itself)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select

from bot.broadcasts.lifecycle import BroadcastView, view_of
from bot.engines.roles import Role, grant_role
from bot.members.demographics import GOVERNORATES
from messages import Catalogue
from storage.database import Database
from storage.models import Broadcast, Member, OutboxMessage
from tests.fake_telegram import FakeBotApi, SimulatedUser
from tests.fake_telegram.records import SentMessage

BAGHDAD = ZoneInfo("Asia/Baghdad")
CATALOGUE = Catalogue(BAGHDAD)
FIRST_MEMBER = 100_000


def text(language: str, key: str, **variables: Any) -> str:
    return CATALOGUE.render(language, key, **variables)


def label(language: str, key: str, **variables: Any) -> str:
    return CATALOGUE.plain(language, key, **variables)


def delivered_text(language: str, body: str) -> str:
    """What a member reading `language` sees for an announcement whose text is `body`."""
    return text(language, "broadcasts.delivery.message", text=body)


def member_row(
    user_id: int,
    now: datetime,
    *,
    language: str | None = "ar",
    governorate: str | None = None,
    subscribed: bool = True,
    unreachable: bool = False,
    consented: bool = True,
) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "language": language,
        "language_source": "chosen",
        "consented_at": now if consented else None,
        "governorate": governorate,
        "subscribed": subscribed,
        "unreachable": unreachable,
        "created_at": now,
        "last_seen_at": now,
    }


async def add_members(db: Database, rows: list[dict[str, Any]]) -> None:
    async with db.unit_of_work() as uow:
        await uow.session.execute(insert(Member), rows)
        await uow.commit()


def crowd(count: int, now: datetime, first: int = FIRST_MEMBER) -> list[dict[str, Any]]:
    """Members with consent, languages and governorates mixed."""
    return [
        member_row(
            first + n,
            now,
            language="ar" if n % 3 else "en",
            governorate=GOVERNORATES[n % len(GOVERNORATES)],
        )
        for n in range(count)
    ]


async def make_organiser(db: Database, user_id: int, now: datetime) -> None:
    async with db.unit_of_work() as uow:
        await grant_role(uow, actor_id=None, user_id=user_id, role=Role.ORGANISER, now=now)
        await uow.commit()


async def wait_for_edit(api: FakeBotApi, message: SentMessage, edits: int) -> None:
    def edited() -> bool:
        current = api.get_message(message.chat_id, message.message_id)
        return current is not None and current.edits >= edits

    await api.wait_for(edited, timeout=20, what="the prompt to be refreshed")


async def compose(
    api: FakeBotApi,
    organiser: SimulatedUser,
    language: str,
    *,
    arabic: str | None,
    english: str | None,
    governorates: tuple[str, ...] = (),
    reads: str | None = None,
    session_id: int | None = None,
    survey_id: int | None = None,
    send_at: str | None = None,
) -> dict[str, SentMessage]:
    """Walk /broadcast as an organiser would; returns the draft notice, previews and card."""
    organiser.command("/broadcast")
    prompt = await organiser.reply()
    assert prompt.content == text(language, "broadcasts.flow.ask_text_ar", limit=3500)
    for body in (arabic, english):
        if body is None:
            organiser.press(prompt, text=label(language, "flow.skip"))
        else:
            organiser.send(body)
        prompt = await organiser.reply()
    organiser.press(prompt, text=label(language, "flow.skip"))  # no media
    prompt = await organiser.reply()
    if governorates:
        organiser.press(prompt, text=label(language, "broadcasts.flow.filter_gov"))
        choices = await organiser.reply()
        for n, code in enumerate(governorates, start=1):
            organiser.press(choices, text=label(language, f"governorate.{code}"))
            await wait_for_edit(api, choices, n)
        organiser.press(choices, text=label(language, "flow.done"))
        prompt = await organiser.reply()
    if reads is not None:
        organiser.press(prompt, text=label(language, "broadcasts.flow.filter_lang"))
        choices = await organiser.reply()
        organiser.press(choices, text=label(language, f"broadcasts.language.{reads}"))
        prompt = await organiser.reply()
    for kind, number in (("session", session_id), ("survey", survey_id)):
        if number is not None:
            organiser.press(prompt, text=label(language, f"broadcasts.flow.filter_{kind}"))
            await organiser.reply()
            organiser.send(str(number))
            prompt = await organiser.reply()
    organiser.press(prompt, text=label(language, "broadcasts.flow.audience_continue"))
    timing = await organiser.reply()
    if send_at is None:
        organiser.press(timing, text=label(language, "broadcasts.flow.send_now"))
    else:
        organiser.press(timing, text=label(language, "broadcasts.flow.send_later"))
        await organiser.reply()
        organiser.send(send_at)
    return await draft_messages(organiser)


async def draft_messages(organiser: SimulatedUser) -> dict[str, SentMessage]:
    """The flow's reply, the two previews and the card, whatever order they arrive in."""
    received = await organiser.replies(4, timeout=30)
    card = next(m for m in received if m.buttons())
    previews = [m for m in received if m is not card and "/unsubscribe" in m.content]
    notice = next(m for m in received if m is not card and m not in previews)
    assert len(previews) == 2, [m.content for m in received]
    return {"notice": notice, "card": card, "preview_ar": previews[0], "preview_en": previews[1]}


async def broadcast_row(db: Database) -> BroadcastView:
    """The latest broadcast, as the services see it."""
    async with db.unit_of_work() as uow:
        row = await uow.session.scalar(select(Broadcast).order_by(Broadcast.id.desc()))
        assert row is not None
        return view_of(row)


async def outbox_statuses(db: Database, broadcast_id: int) -> Counter[str]:
    async with db.unit_of_work() as uow:
        rows = await uow.session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.source == f"broadcast:{broadcast_id}")
            .group_by(OutboxMessage.status)
        )
        return Counter({status: int(count) for status, count in rows.tuples()})


def messages_per_member(api: FakeBotApi, body_fragment: str, organiser: int) -> Counter[int]:
    """How many messages containing `body_fragment` each member (not the organiser) received."""
    return Counter(
        m.chat_id
        for m in api.all_sent_messages()
        if body_fragment in m.content and m.chat_id != organiser
    )


async def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` gently (it may scan every message the fake server holds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"timed out after {timeout:.0f}s waiting for {what}"
        await asyncio.sleep(0.2)
