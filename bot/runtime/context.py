"""What every handler can reach: the typed context, the services and the update in hand."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession
from telegram.ext import Application, CallbackContext, ExtBot

from bot.clock import Clock
from bot.config import Settings
from bot.engines.flows import FlowRegistry
from bot.engines.tasks import TaskRegistry
from messages import Catalogue
from storage import inbox
from storage.database import Database, UnitOfWork


@dataclass
class Services:
    settings: Settings
    database: Database
    catalogue: Catalogue
    clock: Clock
    flows: FlowRegistry
    tasks: TaskRegistry
    instance_id: str
    wake_sender: Callable[[], None] = lambda: None
    features: tuple[ModuleType, ...] = ()
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass
class UpdateScope:
    """Bookkeeping for the update being handled, shared by its handlers and the runtime."""

    update_id: int
    language: str = "ar"
    marked: bool = False
    retry: bool = False
    failed: bool = False
    replies_sent: int = 0
    quiet: bool = False  # flood control: handle the input but send no further replies
    # The sender's stored language, when the inbox read it with the update (None: none set);
    # `sender_language_known` False means it must be looked up.
    sender_language: str | None = None
    sender_language_known: bool = False
    # The inbox processor holds one transaction for the update (effects, replies, mark):
    # replies are planned here and sent after its commit (bot/runtime/reply_lane.py).
    holds_transaction: bool = False
    replies: list[Any] = field(default_factory=list)  # reply_lane.PlannedReply
    retry_after: float | None = None  # a transient error asked to wait this long
    error_type: str | None = None  # the fault that ended the update


CURRENT_UPDATE: ContextVar[UpdateScope | None] = ContextVar("hiwar_current_update", default=None)


def current_scope() -> UpdateScope | None:
    return CURRENT_UPDATE.get()


HiwarApplication = Application[
    ExtBot[None], "HiwarContext", dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
]


class HiwarContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Typed access to Hiwar's services from a handler."""

    staff_roles: frozenset[Any] = frozenset()  # set by admin.access.staff_only for the call

    @property
    def services(self) -> Services:
        return cast(Services, self.application.bot_data["services"])

    @property
    def language(self) -> str:
        scope = current_scope()
        return scope.language if scope else self.services.settings.default_language

    def unit_of_work(self) -> UnitOfWork:
        """A unit of work whose commit also marks the current update handled.

        The effects of an update and the mark on its inbox row commit together, so a
        redelivered update can never apply its effects twice.
        """
        uow = self.services.database.unit_of_work()
        scope = current_scope()
        held = scope is not None and scope.holds_transaction  # the processor marks it
        if scope is not None and not held and not scope.marked:
            clock = self.services.clock

            async def mark(session: AsyncSession) -> None:
                await inbox.mark_done(session, scope.update_id, clock.now())

            def remember() -> None:
                scope.marked = True

            uow.before_commit(mark)
            uow.after_commit(remember)
        uow.after_commit(self.services.wake_sender)
        return uow
