"""A test-only feature whose effects can be counted: it writes rows of the real audit table.

- `/effect SEQ` records (update id, chat, SEQ) in one unit of work with the inbox mark, so
  the count of rows per update shows exactly-once handling and their order per chat shows
  in-order handling.
- `/notify CHAT_ID` queues an outbox message to another chat.
- `/testflow` walks a three-step flow (text, number, choice) on the flow engine.
- `/boom` raises, to exercise the error handler.
- Task kind `test.note` records a row and queues a message, for the due-task tests.
"""

from __future__ import annotations

import asyncio
import os
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.engines import flows
from bot.engines.flows import (
    Choice,
    Completion,
    Finished,
    FlowInput,
    FlowRegistry,
    Invalid,
    Next,
    Prompt,
    StepResult,
    Text,
)
from bot.engines.numbers import parse_integer
from bot.engines.outbox import queue_text
from bot.engines.tasks import TaskRegistry
from bot.runtime.context import HiwarContext
from bot.runtime.replies import send_html, show_flow_reply
from storage.database import UnitOfWork
from storage.models import AuditEntry

HANDLER_DELAY_SECONDS = float(os.environ.get("HIWAR_TEST_EFFECT_DELAY", "0"))


class DeliberateFailure(RuntimeError):
    """Raised by /boom to exercise the error handler."""


async def record_effect(update: Update, ctx: HiwarContext) -> None:
    assert update.effective_chat is not None and update.effective_message is not None
    seq = int((ctx.args or ["0"])[0])
    async with ctx.unit_of_work() as uow:
        uow.session.add(
            AuditEntry(
                at=ctx.services.clock.now(),
                actor_id=update.effective_user.id if update.effective_user else None,
                action="test.effect",
                record_type="update",
                record_id=str(update.update_id),
                details={"chat": update.effective_chat.id, "seq": seq},
            )
        )
        await uow.session.flush()
        if HANDLER_DELAY_SECONDS:
            await asyncio.sleep(HANDLER_DELAY_SECONDS)
        await uow.commit()
    await send_html(update, ctx, f"effect {seq}")


BOOM = {"fixed": False}  # set True (in-process) and /boom records an effect instead


async def boom(update: Update, ctx: HiwarContext) -> None:
    message = update.effective_message
    if BOOM["fixed"]:
        await record_effect(update, ctx)
        return
    raise DeliberateFailure(message.text if message else "")  # carries the member's text


async def notify(update: Update, ctx: HiwarContext) -> None:
    target = int((ctx.args or ["0"])[0])
    async with ctx.unit_of_work() as uow:
        await queue_text(
            uow,
            chat_id=target,
            text=f"notice for {target}",
            now=ctx.services.clock.now(),
            dedupe_key=f"test-notice:{update.update_id}",
        )
        await uow.commit()


class ThreeStepFlow:
    name = "test.three_steps"

    def first_step(self, data: dict[str, Any]) -> str:
        return "name"

    def prompt(self, step: str, data: dict[str, Any]) -> Prompt:
        if step == "name":
            return Prompt(Text("flow.no_flow_hint"))
        if step == "age":
            return Prompt(Text("flow.use_buttons"), can_go_back=True)
        return Prompt(
            Text("flow.skip"),
            choices=(
                Choice("red", label_key="governorate.baghdad"),
                Choice("blue", label_key="governorate.basra"),
            ),
            can_go_back=True,
        )

    def accept(self, step: str, data: dict[str, Any], given: FlowInput) -> StepResult:
        if step == "name":
            if not given.text:
                return Invalid(Text("flow.use_buttons"))
            return Next("age", {**data, "name": given.text})
        if step == "age":
            age = parse_integer(given.text)
            if age is None or not 0 < age < 130:
                return Invalid(Text("flow.use_buttons"))
            return Next("colour", {**data, "age": age})
        return Finished({**data, "colour": given.choice})

    async def finish(
        self, uow: UnitOfWork, user_id: int, data: dict[str, Any], now: datetime
    ) -> Completion:
        uow.session.add(
            AuditEntry(
                at=now,
                actor_id=user_id,
                action="test.flow_done",
                record_type="flow",
                record_id=str(user_id),
                details=flows.public_data(data),
            )
        )
        return Completion(Text("flow.cancelled"))


async def start_test_flow(update: Update, ctx: HiwarContext) -> None:
    assert update.effective_user is not None
    async with ctx.unit_of_work() as uow:
        reply = await flows.start_flow(
            uow,
            ctx.services.flows,
            update.effective_user.id,
            ThreeStepFlow.name,
            ctx.services.clock.now(),
        )
        await uow.commit()
    await show_flow_reply(update, ctx, reply)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("effect", record_effect))
    application.add_handler(CommandHandler("notify", notify))
    application.add_handler(CommandHandler("boom", boom))
    application.add_handler(CommandHandler("testflow", start_test_flow))


def register_flows(registry: FlowRegistry, _services: object) -> None:
    registry.add(ThreeStepFlow())


async def run_note_task(uow: UnitOfWork, payload: dict[str, Any], now: datetime) -> None:
    """Task kind `test.note`: an audit row (countable) and a message to the chat."""
    uow.session.add(
        AuditEntry(
            at=now,
            actor_id=None,
            action="test.task_ran",
            record_type="task",
            record_id=str(payload["n"]),
            details={},
        )
    )
    await queue_text(
        uow,
        chat_id=int(payload["chat_id"]),
        text=f"task {payload['n']}",
        now=now,
        dedupe_key=f"test-task:{payload['n']}",
    )


def register_tasks(registry: TaskRegistry, _services: object) -> None:
    registry.register("test.note", run_note_task)
