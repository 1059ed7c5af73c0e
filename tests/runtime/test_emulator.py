"""The bot runs, unchanged, against a Bot API emulator this project did not write
(`lo-bot-api-emulator`, started with `--enable-control`; updates injected with
`POST /__fixture/updates`): /start, consent, a full /report to a reference, /status.

A thin bridge sits between the bot and the emulator, for the emulator's own gaps that real
Telegram does not have: its `getMe` has no `username` (the bridge adds one), and it keeps no
text of what was sent (the bridge notes each message the bot sent, so the test can read the
replies and press their buttons). The bot and its configuration are the production ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import pytest
from aiohttp import web

from bot.config import load_settings
from bot.runtime.application import HiwarRuntime
from tests.grievances.test_grievance_steps import reference_in
from tests.members.test_onboarding_steps import label, text
from tests.support.harness import FAST

TOKEN = "123456:emulated-token"
MEMBER = {"id": 880001, "is_bot": False, "first_name": "Noor", "language_code": "en"}
CHAT = {"id": MEMBER["id"], "type": "private", "first_name": "Noor"}
EMULATOR = Path(sys.executable).with_name("lo-bot-api-emulator")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def form_fields(body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """The fields of a request as python-telegram-bot sends them (a form, or JSON)."""
    if body.startswith(b"{"):
        return dict(json.loads(body))
    if "multipart" in " ".join(headers.values()):
        return {}
    return dict(parse_qsl(body.decode()))


@dataclass
class Sent:
    message_id: int
    text: str
    buttons: list[tuple[str, str]]


@dataclass
class Bridge:
    """Forwards every Bot API call to the emulator; fills in `getMe.username`; notes the
    messages sent to the member."""

    upstream: str
    sent: list[Sent] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await request.read()
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() == "content-type"
        }
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.upstream}/bot{request.match_info['token']}/{method}",
                data=body or None,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=70),
            ) as answer,
        ):
            status, payload = answer.status, await answer.json(content_type=None)
        if method == "getMe" and payload.get("ok"):
            payload["result"].setdefault("username", "hiwar_emulated_bot")
        if not payload.get("ok"):
            self.refused.append(f"{method}: {payload.get('description')}")
            return web.json_response(payload, status=status)
        elif method == "sendMessage":
            params = form_fields(body, headers)
            markup = params.get("reply_markup") or {}
            if isinstance(markup, str):
                markup = json.loads(markup)
            buttons = [
                (button["text"], button.get("callback_data", ""))
                for row in markup.get("inline_keyboard", [])
                for button in row
            ]
            self.sent.append(Sent(int(payload["result"]["message_id"]), params["text"], buttons))
            self.arrived.set()
        return web.json_response(payload, status=status)

    async def next_reply(self, seen: int, timeout: float = 20.0) -> Sent:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.sent) <= seen:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no reply; refused: {self.refused}")
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), remaining)
        return self.sent[seen]


@dataclass
class Member:
    """Noor, writing to the bot through the emulator's control endpoint."""

    control: str
    bridge: Bridge
    seen: int = 0
    next_message_id: int = 1

    async def _inject(self, update: dict[str, Any]) -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.control}/__fixture/updates", json={"token": TOKEN, "update": update}
            ) as answer,
        ):
            result = await answer.json()
        assert result["ok"], result

    async def send(self, words: str) -> None:
        self.next_message_id += 1
        message: dict[str, Any] = {
            "message_id": self.next_message_id,
            "date": 1_764_000_000,
            "chat": CHAT,
            "from": MEMBER,
            "text": words,
        }
        if words.startswith("/"):
            command = words.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        await self._inject({"message": message})

    async def press(self, sent: Sent, data: str) -> None:
        query = {
            "id": f"q{sent.message_id}-{len(data)}",
            "from": MEMBER,
            "chat_instance": "emulated",
            "data": data,
            "message": {
                "message_id": sent.message_id,
                "date": 1_764_000_000,
                "chat": CHAT,
                "text": sent.text,
            },
        }
        await self._inject({"callback_query": query})

    async def reply(self) -> Sent:
        message = await self.bridge.next_reply(self.seen)
        self.seen += 1
        return message

    async def reply_with(self, fragment: str) -> Sent:
        while True:
            message = await self.reply()
            if fragment in message.text:
                return message

    async def choose(self, sent: Sent, value: str) -> Sent:
        matches = [data for _, data in sent.buttons if data.endswith(f":{value}")]
        assert len(matches) == 1, (value, sent.buttons)
        await self.press(sent, matches[0])
        return await self.reply()


@pytest.fixture
def emulator() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [str(EMULATOR), "--port", str(port), "--enable-control"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
                break
            if process.poll() is not None:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
async def bridge(emulator: str) -> AsyncIterator[tuple[Bridge, str]]:
    bridge = Bridge(emulator)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/bot{token}/{method}", bridge.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield bridge, f"http://127.0.0.1:{port}/bot"
    finally:
        await runner.cleanup()


async def test_the_bot_runs_unchanged_against_the_emulator(
    bridge: tuple[Bridge, str], database_url: str
) -> None:
    relay, api_url = bridge
    settings = load_settings(
        {
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": api_url,
            "DATABASE_URL": database_url,
            "DEFAULT_LANGUAGE": "ar",
            "TIMEZONE": "Asia/Baghdad",
            "HIWAR_FLOOD_MESSAGES": "1000",
        },
        env_file=None,
    )
    runtime = HiwarRuntime(settings, tuning=FAST)
    await runtime.start()
    try:
        noor = Member(relay.upstream, relay)
        await noor.send("/start")
        notice = await noor.reply_with(text("en", "onboarding.privacy_notice")[:40])
        agree = label("en", "onboarding.consent.agree_button")
        await noor.press(notice, next(data for name, data in notice.buttons if name == agree))
        await noor.reply_with(text("en", "onboarding.consent.thanks")[:30])
        menu = await noor.reply()
        assert menu.text == text("en", "onboarding.menu.title")

        await noor.send("/report")
        prompt = await noor.reply()
        prompt = await noor.choose(prompt, "public_services")
        prompt = await noor.choose(prompt, "basra")
        prompt = await noor.choose(prompt, "~skip")
        await noor.send("The water has been cut in our street for a week.")
        prompt = await noor.reply()
        prompt = await noor.choose(prompt, "~done")
        prompt = await noor.choose(prompt, "low")
        prompt = await noor.choose(prompt, "anonymous")
        confirmation = await noor.choose(prompt, "submit")
        reference = reference_in(confirmation.text)

        await noor.send("/status")
        listing = await noor.reply_with(reference)
        assert reference in listing.text
        await noor.send(f"/status {reference}")
        report = await noor.reply_with(reference)
        assert "Status" in report.text
    finally:
        await runtime.stop()
    # The only refusals: parameters this emulator does not know (link_preview_options;
    # parse_mode on editMessageReplyMarkup), each dropped after its first refusal
    # (bot/runtime/telegram_api.py), so at most once per connection pool and method.
    assert relay.refused, "the emulator refuses link_preview_options"
    assert all("is not supported" in refusal for refusal in relay.refused), relay.refused
    # Three request pools (replies, polling, the outbox sender): each learns it once.
    assert max(Counter(relay.refused).values()) <= 3, relay.refused
