"""The one error handler: log first (no message text, no names), answer kindly, tell admins."""

from __future__ import annotations

import logging
import traceback

from telegram import Update
from telegram.error import BadRequest, NetworkError, RetryAfter

from bot.engines.outbox import PRIORITY_STAFF, queue_text
from bot.runtime.context import HiwarContext, current_scope
from bot.runtime.inbox_processor import describe
from bot.runtime.replies import say
from bot.runtime.sender import retry_after_seconds
from storage.database import SavepointsNeeded
from storage.errors import is_database_unavailable
from storage.inbox import UpdateAlreadyHandled

logger = logging.getLogger("hiwar.errors")


def traceback_without_messages(error: BaseException) -> str:
    """Frames and exception types only: exception messages can carry member text."""
    frames = "".join(traceback.format_tb(error.__traceback__))
    return f"{frames}{type(error).__module__}.{type(error).__qualname__}"


def is_transient(error: BaseException) -> bool:
    """Telegram asked us to wait (429), or failed on its side (5xx) or on the way (network,
    time-out): the same request can succeed later. A 400 (`BadRequest` is a `NetworkError`
    in python-telegram-bot) or 403 is a refusal that will not change."""
    if isinstance(error, RetryAfter):
        return True
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


async def on_error(update: object, ctx: HiwarContext) -> None:
    error = ctx.error
    if error is None:
        return
    scope = current_scope()
    if isinstance(error, UpdateAlreadyHandled):
        if scope is not None:
            scope.marked = True
        logger.info("%s was handled before; skipped", describe(update))
        return
    if isinstance(error, SavepointsNeeded):
        # A unit of work could not be undone alone: the inbox processor runs the update
        # again, with savepoints (storage/database.py).
        logger.info("%s runs again with savepoints", describe(update))
        return
    if is_database_unavailable(error) or is_transient(error):
        if scope is not None:
            scope.retry = True
            if isinstance(error, RetryAfter):
                scope.retry_after = retry_after_seconds(error)
        logger.warning("%s postponed: %s", describe(update), type(error).__name__)
        return
    logger.error("%s failed:\n%s", describe(update), traceback_without_messages(error))
    if scope is not None and scope.holds_transaction:
        # The inbox processor rolls the update back, keeps its input for a replay,
        # apologises to the member and tells the admins.
        scope.failed = True
        scope.error_type = type(error).__name__
        return
    if scope is not None:
        scope.failed = True
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await say(update, ctx, "errors.generic")
        except Exception:
            logger.warning("could not tell the member about the error")
    await notify_admins(ctx, type(error).__name__, describe(update))


async def notify_admins(ctx: HiwarContext, error_type: str, where: str) -> None:
    services = ctx.services
    now = services.clock.now()
    bucket = now.strftime("%Y%m%d%H") + str(now.minute // 10)
    try:
        async with services.database.unit_of_work() as uow:
            for admin_id in sorted(services.settings.admin_ids):
                text = services.catalogue.render(
                    services.settings.default_language,
                    "errors.admin_alert",
                    error_type=error_type,
                    where=where,
                )
                await queue_text(
                    uow,
                    chat_id=admin_id,
                    text=text,
                    now=now,
                    priority=PRIORITY_STAFF,
                    dedupe_key=f"error-alert:{admin_id}:{error_type}:{bucket}",
                )
            uow.after_commit(services.wake_sender)
            await uow.commit()
    except Exception:
        logger.warning("could not queue the admin alert")
