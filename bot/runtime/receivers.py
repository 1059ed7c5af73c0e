"""Receiving updates durably: long polling and webhook (SPEC §2, "No update is lost").

Polling: a batch from `getUpdates` is committed to the inbox before the next call's offset
confirms it to Telegram. Webhook: the update is committed before the HTTP 200; a request
without the right secret is refused with 403 and nothing is stored. If the database is down,
polling keeps the offset (Telegram keeps the updates) and the webhook answers 503 (Telegram
retries later).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import urlparse

from aiohttp import web
from telegram import Bot, Update
from telegram.error import BadRequest, Conflict, NetworkError, RetryAfter, TimedOut

from bot.engines.roles import list_staff
from bot.runtime.context import Services
from bot.runtime.inbox_processor import chat_key_of, chat_key_of_payload
from bot.runtime.sender import retry_after_seconds
from bot.runtime.staff_destinations import tell_admins
from bot.runtime.telegram_api import HANDLED_UPDATE_TYPES, call_api, description_of
from storage import inbox
from storage.errors import is_database_unavailable

logger = logging.getLogger(__name__)
MAX_UPDATE_ID = 2**63  # the inbox keeps update ids in a signed 64-bit column
CONFIG_ERROR_RETRY_SECONDS = 30.0  # a 400 from getUpdates is configuration: retry slowly
POLL_READ_MARGIN_SECONDS = 10.0  # a long poll's answer may take this much past its timeout


async def store_updates(services: Services, items: list[inbox.IncomingUpdate]) -> None:
    async with services.database.unit_of_work() as uow:
        staff = {member.user_id for member in await list_staff(uow)}
        await inbox.store_incoming(
            uow.session,
            items,
            services.clock.now(),
            staff_ids=frozenset(staff | services.settings.admin_ids),
        )
        await uow.commit()


def incoming_from_payload(
    payload: dict[str, Any], bot: Bot, *, check: bool = False
) -> inbox.IncomingUpdate:
    """An update as stored. From getUpdates (Telegram's own JSON) its chat is read off the
    JSON; `check` (a webhook body, which anyone could post) decodes it fully first."""
    update_id = payload.get("update_id")
    chat_key = None if check else chat_key_of_payload(payload)
    if chat_key is None or not isinstance(update_id, int):
        update = Update.de_json(payload, bot)
        update_id, chat_key = update.update_id, chat_key_of(update)
    return inbox.IncomingUpdate(update_id, chat_key, payload)


class PollingReceiver:
    def __init__(
        self,
        services: Services,
        bot: Bot,
        on_stored: Callable[[Collection[int]], None],
        *,
        poll_timeout: int = 10,
    ) -> None:
        self.services = services
        self.bot = bot
        self.on_stored = on_stored
        self.poll_timeout = poll_timeout
        self.offset: int | None = None

    async def run(self, stop: asyncio.Event) -> None:
        await self.bot.delete_webhook(drop_pending_updates=False)
        failures = 0
        while not stop.is_set():
            try:
                # As JSON: the updates are stored as they came, and decoded once, by the
                # inbox processor (python-telegram-bot's get_updates builds every object).
                updates = await call_api(
                    self.bot,
                    "getUpdates",
                    {
                        "offset": self.offset,
                        "timeout": self.poll_timeout,
                        "allowed_updates": list(HANDLED_UPDATE_TYPES),
                    },
                    read_timeout=self.poll_timeout + POLL_READ_MARGIN_SECONDS,
                )
                failures = 0
            except RetryAfter as error:
                await asyncio.sleep(retry_after_seconds(error))
                continue
            except BadRequest as error:
                # Not transient: the request itself is refused (e.g. an update type the
                # server does not know). Say why, and ask again slowly.
                logger.error(
                    "getUpdates refused (%s); configuration error, retrying in %.0f s",
                    description_of(error),
                    CONFIG_ERROR_RETRY_SECONDS,
                )
                await self._alert_admins(description_of(error))
                await asyncio.sleep(CONFIG_ERROR_RETRY_SECONDS)
                continue
            except (TimedOut, NetworkError, Conflict) as error:
                failures += 1
                logger.warning("getUpdates failed (%s); retrying", type(error).__name__)
                await asyncio.sleep(min(0.5 * 2**failures, 30.0))
                continue
            if not updates:
                continue
            items = [incoming_from_payload(payload, self.bot) for payload in updates]
            await self._store_until_done(items, stop)
            self.offset = max(item.update_id for item in items) + 1
            self.on_stored({item.chat_key for item in items})

    async def _alert_admins(self, description: str) -> None:
        """Members are not being answered: every admin hears of it (once an hour)."""
        now = self.services.clock.now()
        try:
            async with self.services.database.unit_of_work() as uow:
                await tell_admins(
                    uow,
                    self.services,
                    "delivery.updates_refused",
                    now,
                    f"updates-refused:{now.strftime('%Y%m%d%H')}",
                    description=description,
                    seconds=int(CONFIG_ERROR_RETRY_SECONDS),
                )
                uow.after_commit(self.services.wake_sender)
                await uow.commit()
        except Exception as error:
            logger.warning("could not queue the admin alert (%s)", type(error).__name__)

    async def _store_until_done(
        self, items: list[inbox.IncomingUpdate], stop: asyncio.Event
    ) -> None:
        attempt = 0
        while True:
            try:
                await store_updates(self.services, items)
                return
            except Exception as error:
                attempt += 1
                if is_database_unavailable(error):
                    logger.warning("inbox unavailable; updates stay unconfirmed at Telegram")
                else:
                    # Not an outage we know: still keep receiving (raising would end polling
                    # for good while the process lives on); the updates stay at Telegram.
                    # The type only: the message of a database error can quote the payload.
                    logger.error(
                        "could not store updates (%s); they stay unconfirmed at Telegram",
                        type(error).__name__,
                    )
                await asyncio.sleep(min(0.5 * attempt, 5.0))


class WebhookReceiver:
    def __init__(
        self,
        services: Services,
        bot: Bot,
        on_stored: Callable[[Collection[int]], None],
        *,
        host: str = "0.0.0.0",  # noqa: S104 - a webhook listens on all interfaces behind a proxy
        port: int,
    ) -> None:
        self.services = services
        self.bot = bot
        self.on_stored = on_stored
        self.host = host
        self.port = port
        settings = services.settings
        assert settings.webhook_url is not None and settings.webhook_secret is not None
        self.path = urlparse(settings.webhook_url).path or "/"
        self._secret = settings.webhook_secret.reveal().encode()
        self._runner: web.AppRunner | None = None
        self.rejected = 0  # malformed updates answered 400 since start

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post(self.path, self._receive)
        app.router.add_get("/healthz", self._health)
        return app

    async def _health(self, _request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def _receive(self, request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "").encode()
        if not hmac.compare_digest(given, self._secret):
            return web.json_response({"ok": False}, status=403)
        try:
            payload = json.loads(await request.read())
            update_id = payload.get("update_id") if isinstance(payload, dict) else None
            if not isinstance(update_id, int) or not 0 <= update_id < MAX_UPDATE_ID:
                raise ValueError("not an update")
            item = incoming_from_payload(payload, self.bot, check=True)
        except Exception as error:
            # A malformed body behind the right secret: counted and logged by the kind of
            # error only, never its content (it may hold a member's words).
            self.rejected += 1
            logger.warning(
                "webhook: malformed update rejected (%s); %d so far",
                type(error).__name__,
                self.rejected,
            )
            return web.json_response({"ok": False}, status=400)
        try:
            await store_updates(self.services, [item])
        except Exception as error:
            if is_database_unavailable(error):
                return web.json_response({"ok": False}, status=503)
            raise
        self.on_stored((item.chat_key,))
        return web.json_response({"ok": True})

    async def start(self) -> None:
        self._runner = web.AppRunner(self.build_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        settings = self.services.settings
        assert settings.webhook_url is not None and settings.webhook_secret is not None
        await self.bot.set_webhook(
            url=settings.webhook_url,
            secret_token=settings.webhook_secret.reveal(),
            allowed_updates=list(HANDLED_UPDATE_TYPES),
            drop_pending_updates=False,
        )

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
