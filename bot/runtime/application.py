"""The composition root: builds the Application, the services and every background loop.

One ordered list of feature modules registers handlers (pre-filters first, fallbacks last),
flows and task kinds. `HiwarRuntime` starts and stops the whole bot; the tests and
`python -m bot` use the same object.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, cast

from telegram import Bot
from telegram.constants import ParseMode
from telegram.ext import Application, ContextTypes, Defaults

from admin import audit_log, grievance_cards, grievance_reply, moderation_features, staff
from admin import broadcasts as broadcast_admin
from admin import sessions as session_admin
from admin import surveys as survey_admin
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.engines.flows import FlowRegistry
from bot.engines.tasks import TaskRegistry
from bot.runtime.context import HiwarApplication, HiwarContext, Services
from bot.runtime.errors import on_error
from bot.runtime.inbox_processor import DRAIN_SECONDS, InboxProcessor
from bot.runtime.receivers import PollingReceiver, WebhookReceiver
from bot.runtime.reply_lane import ReplyLane
from bot.runtime.scheduler import TaskRunner
from bot.runtime.sender import GlobalPace, OutboxSender, SharedRateLimiter
from bot.runtime.telegram_api import HiwarBot, TolerantRequest
from handlers import (
    fallback,
    flood_control,
    flow_input,
    group_chats,
    member_settings,
    onboarding,
    prefilters,
)
from handlers import grievances as grievance_reports
from handlers import sessions as member_sessions
from handlers import subscriptions as member_subscriptions
from handlers import surveys as member_surveys
from messages import shared_catalogue
from storage import inbox, leases, outbox, sealing, tasks
from storage.database import Database
from storage.errors import is_database_unavailable
from storage.migrate import upgrade_database

logger = logging.getLogger(__name__)

SENDER_CONNECTIONS = 8
STARTUP_DATABASE_WAIT_SECONDS = 120.0

# Feature modules, in the order their handlers are tried. Each may define
# `register(application)`, `register_flows(registry, services)`,
# `register_tasks(registry, services)` and `async on_startup(services, application)`.
FEATURES: tuple[ModuleType, ...] = (
    onboarding,
    member_settings,
    flood_control,
    group_chats,
    member_sessions,
    session_admin,
    staff,
    audit_log,
    grievance_reports,
    grievance_cards,
    grievance_reply,
    *moderation_features.MODULES,
    survey_admin,
    member_surveys,
    member_subscriptions,
    broadcast_admin,
)


@dataclass(frozen=True)
class Tuning:
    """Knobs that tests and benchmarks turn; production uses the defaults."""

    tick_seconds: float = 1.0
    poll_timeout: int = 10
    outbox_rate: float = 30.0
    per_chat_interval: float = 1.0
    idle_poll_seconds: float = 1.0
    concurrency: int = 32
    pool_size: int = 10


def tuning_from_environment(values: Mapping[str, str]) -> Tuning:
    """Tuning from HIWAR_* variables (used by tests and benchmarks that start `python -m bot`)."""
    defaults = Tuning()
    return Tuning(
        tick_seconds=float(values.get("HIWAR_TICK_SECONDS", defaults.tick_seconds)),
        poll_timeout=int(values.get("HIWAR_POLL_TIMEOUT", defaults.poll_timeout)),
        outbox_rate=float(values.get("HIWAR_OUTBOX_RATE", defaults.outbox_rate)),
        per_chat_interval=float(values.get("HIWAR_PER_CHAT_INTERVAL", defaults.per_chat_interval)),
        idle_poll_seconds=float(values.get("HIWAR_IDLE_POLL", defaults.idle_poll_seconds)),
        concurrency=int(values.get("HIWAR_CONCURRENCY", defaults.concurrency)),
        pool_size=int(values.get("HIWAR_POOL_SIZE", defaults.pool_size)),
    )


def stable_instance_id(settings: Settings) -> str:
    """The same name across restarts of one deployment slot (host and port, or polling).

    A restarted instance therefore takes back at once the chats, messages and tasks it held
    when it died, instead of waiting for their claims to expire.
    """
    slot = str(settings.port) if settings.webhook_mode else "polling"
    return f"{socket.gethostname()}:{slot}"[:64]


def file_url_for(base_url: str) -> str:
    if base_url.rstrip("/").endswith("/bot"):
        return base_url.rstrip("/")[: -len("/bot")] + "/file/bot"
    return base_url


def build_application(
    services: Services, pace: GlobalPace, features: Sequence[ModuleType] = FEATURES
) -> HiwarApplication:
    settings = services.settings
    options: dict[str, Any] = {
        "request": TolerantRequest(connection_pool_size=16, pool_timeout=30.0),
        "get_updates_request": TolerantRequest(connection_pool_size=1),
        "defaults": Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.timezone),
        "rate_limiter": SharedRateLimiter(pace),
    }
    if settings.telegram_api_url:
        options["base_url"] = settings.telegram_api_url
        options["base_file_url"] = file_url_for(settings.telegram_api_url)
    bot = HiwarBot(settings.require_token(), **options)
    builder = (
        Application.builder()
        .bot(bot)
        .updater(None)
        .context_types(ContextTypes(context=HiwarContext))
    )
    # A HiwarBot is an ExtBot[None]; the builder's generic types only know the subclass.
    application = cast(HiwarApplication, builder.build())
    application.bot_data["services"] = services
    register_handlers(application, features)
    application.add_error_handler(on_error)
    return application


def register_handlers(application: HiwarApplication, features: Sequence[ModuleType]) -> None:
    prefilters.register(application)
    for feature in features:
        register = getattr(feature, "register", None)
        if register is not None:
            register(application)
    flow_input.register(application)
    fallback.register(application)


def register_feature_data(services: Services, features: Sequence[ModuleType]) -> None:
    for feature in features:
        for name, registry in (
            ("register_flows", services.flows),
            ("register_tasks", services.tasks),
        ):
            hook: Callable[..., None] | None = getattr(feature, name, None)
            if hook is not None:
                hook(registry, services)


async def release_previous_claims(services: Services) -> None:
    """What this instance held when it last stopped (crash or kill) is free again."""
    async with services.database.unit_of_work() as uow:
        await inbox.release_leases_of(uow.session, services.instance_id)
        await outbox.release_claims_of(uow.session, services.instance_id)
        await tasks.release_claims_of(uow.session, services.instance_id)
        await leases.release_leases_of(uow.session, services.instance_id)
        await uow.commit()


async def when_database_available(
    step: Callable[[], Awaitable[None]], limit: float = STARTUP_DATABASE_WAIT_SECONDS
) -> None:
    """Run a start-up step, again while the database is unavailable (PostgreSQL starting up
    or restarting as the bot starts), for up to `limit` seconds; then the error stands."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    attempt = 0
    while True:
        try:
            await step()
            return
        except Exception as error:
            if not is_database_unavailable(error) or loop.time() >= deadline:
                raise
            attempt += 1
            logger.warning("database unavailable at start (%s); waiting", type(error).__name__)
            await asyncio.sleep(min(0.5 * attempt, 5.0))


class HiwarRuntime:
    """The running bot: database, application, receiver, inbox processor, sender, tick."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        tuning: Tuning | None = None,
        features: Sequence[ModuleType] = FEATURES,
    ) -> None:
        self.settings = settings
        self.features = tuple(features)
        self.clock = clock or SystemClock()
        self.tuning = tuning or Tuning()
        self.instance_id = stable_instance_id(settings)
        self._stop = asyncio.Event()
        self._lane_stop = asyncio.Event()  # set once the chats in hand have drained
        self._lane_loop: asyncio.Task[None] | None = None
        self.lane: ReplyLane | None = None
        self._loops: list[asyncio.Task[None]] = []
        self.database: Database | None = None
        self.application: HiwarApplication | None = None
        self.services: Services | None = None
        self.processor: InboxProcessor | None = None
        self.sender: OutboxSender | None = None
        self.task_runner: TaskRunner | None = None
        self._sender_bot: Bot | None = None
        self._webhook: WebhookReceiver | None = None

    async def start(self) -> None:
        settings, tuning = self.settings, self.tuning
        token = settings.require_token()
        # Everything sealed at rest uses DATA_KEY's cipher, from the first row written.
        sealing.configure(settings.data_key.reveal() if settings.data_key else None)
        self.database = Database(settings.database_url, pool_size=tuning.pool_size)
        database = self.database
        await when_database_available(lambda: upgrade_database(database))
        services = Services(
            settings=settings,
            database=self.database,
            catalogue=shared_catalogue(settings.timezone),
            clock=self.clock,
            flows=FlowRegistry(),
            tasks=TaskRegistry(),
            instance_id=self.instance_id,
            features=self.features,
        )
        self.services = services
        register_feature_data(services, self.features)
        pace = GlobalPace(tuning.outbox_rate)
        self.application = application = build_application(services, pace, self.features)
        await application.initialize()

        kwargs: dict[str, Any] = {}
        if settings.telegram_api_url:
            kwargs = {
                "base_url": settings.telegram_api_url,
                "base_file_url": file_url_for(settings.telegram_api_url),
            }
        # A few connections: with python-telegram-bot's default of one, sends queue behind
        # each other and reach Telegram in bunches; with very many, httpcore spends its time
        # scanning the pool (measured with bench/broadcast.py --profile).
        self._sender_bot = Bot(
            token,
            request=TolerantRequest(connection_pool_size=SENDER_CONNECTIONS, pool_timeout=30.0),
            **kwargs,
        )
        await self._sender_bot.initialize()
        self.sender = OutboxSender(
            services,
            self._sender_bot,
            pace,
            per_chat_interval=tuning.per_chat_interval,
            idle_poll_seconds=tuning.idle_poll_seconds,
        )
        services.wake_sender = self.sender.wake
        self.lane = ReplyLane(services, self.sender, pace)
        self.processor = InboxProcessor(
            services,
            application,
            self.lane,
            concurrency=tuning.concurrency,
            idle_poll_seconds=tuning.idle_poll_seconds,
            drain_seconds=float(settings.extra.get("HIWAR_DRAIN_SECONDS", DRAIN_SECONDS)),
        )
        self.task_runner = TaskRunner(services)
        await when_database_available(lambda: release_previous_claims(services))
        for feature in self.features:
            on_startup = getattr(feature, "on_startup", None)
            if on_startup is not None:
                await on_startup(services, application)

        await application.start()
        job_queue = application.job_queue
        assert job_queue is not None
        runner = self.task_runner
        job_queue.run_repeating(
            lambda _ctx: runner.tick(),
            interval=tuning.tick_seconds,
            first=0.0,
            name="due-tasks",
            job_kwargs={"max_instances": 1, "coalesce": True},
        )
        job_queue.run_repeating(
            lambda _ctx: runner.purge_old_inbox_rows(), interval=3600, first=60, name="purge"
        )

        self._stop.clear()
        self._lane_stop.clear()
        self._lane_loop = asyncio.create_task(
            self.lane.run_recorder(self._lane_stop), name="reply-recorder"
        )
        self._loops.append(asyncio.create_task(self.processor.run(self._stop), name="inbox"))
        self._loops.append(asyncio.create_task(self.sender.run(self._stop), name="outbox"))
        if settings.webhook_mode:
            self._webhook = WebhookReceiver(
                services, application.bot, self.processor.wake, port=settings.port
            )
            await self._webhook.start()
        else:
            receiver = PollingReceiver(
                services, application.bot, self.processor.wake, poll_timeout=tuning.poll_timeout
            )
            self._loops.append(asyncio.create_task(receiver.run(self._stop), name="polling"))
        logger.info(
            "Hiwar started (%s, %s)",
            "webhook" if settings.webhook_mode else "polling",
            self.database.dialect,
        )

    async def stop(self) -> None:
        self._stop.set()
        # Wake the loops that sleep between polls, so they see the stop now rather than at
        # the end of their idle wait.
        if self.processor is not None:
            self.processor.wake()
        if self.sender is not None:
            self.sender.wake()
            self.sender.recorder.wake()
        if self._webhook is not None:
            await self._webhook.stop()
        for task in self._loops:
            if task.get_name() == "polling":
                task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(
                asyncio.gather(*self._loops, return_exceptions=True), timeout=15
            )
        self._loops.clear()
        # The replies of the drained chats are recorded before the database goes away.
        self._lane_stop.set()
        if self.lane is not None:
            self.lane.recorder.wake()
        if self._lane_loop is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._lane_loop, timeout=10)
            self._lane_loop = None
        if self.application is not None:
            if self.application.running:
                await self.application.stop()
            await self.application.shutdown()
        if self._sender_bot is not None:
            await self._sender_bot.shutdown()
        if self.database is not None:
            await self.database.dispose()
        logger.info("Hiwar stopped")

    async def run_until(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()
