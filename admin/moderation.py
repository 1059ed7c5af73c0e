"""Moderation's shared handler plumbing and its due-time work (SPEC §4.1, §5).

`run_case_action` runs one case service in the update's unit of work and turns every domain
refusal into a clear catalogue message, so no moderator action ever fails silently; when a
colleague changed the case first, the moderator is shown its current state. This module
also registers the nudge, digest and spike-check tasks and schedules the first ones.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from telegram import Update
from telegram.ext import Application

from bot.engines.tasks import TaskRegistry
from bot.grievances.cases import GrievanceNotFound, NotPermitted
from bot.grievances.directory import category
from bot.grievances.flow import GrievanceDesk
from bot.grievances.notices import ACK_NUDGE_TASK, CARD_REFRESH_TASK, refresh_cards
from bot.moderation.actions import (
    CaseChanged,
    CaseOutcome,
    CaseState,
    InvalidChoice,
    InvalidTransition,
    NotStaff,
    ReasonRequired,
    SameCase,
    current_state,
)
from bot.moderation.cards import shown_name
from bot.moderation.schedule import (
    DIGEST_TASK,
    SPIKE_TASK,
    ModerationPolicy,
    moderation_policy,
    run_spike_check,
    schedule_digest,
    schedule_spike_check,
    send_ack_nudge,
    send_digest,
)
from bot.moderation.staff_names import remember_first_name
from bot.runtime.context import HiwarContext, Services
from bot.runtime.replies import say
from handlers.fallback import stale_button, unknown_command
from handlers.grievances import desk_of
from storage.database import UnitOfWork
from storage.models import Grievance

T = TypeVar("T")
CaseService = Callable[[UnitOfWork, GrievanceDesk, datetime], Awaitable[T]]
POLICY = "moderation_policy"


def policy_of(services: Services) -> ModerationPolicy:
    policy = services.extras.get(POLICY)
    if not isinstance(policy, ModerationPolicy):
        policy = moderation_policy(services.settings.extra)
        services.extras[POLICY] = policy
    return policy


def state_variables(ctx: HiwarContext, state: CaseState) -> dict[str, Any]:
    catalogue, language = ctx.services.catalogue, ctx.language
    return {
        "reference": state.reference,
        "status_label": catalogue.plain(language, f"grievances.status.{state.status}"),
        "priority_label": catalogue.plain(language, f"moderation.priority.p{state.priority}"),
        "assignee": shown_name(
            catalogue, language, state.assignee_name, state.assignee_id is not None
        ),
        "category_label": category(state.category).labels.get(language, state.category),
        "main_reference": state.main_reference or "",
    }


async def tell(update: Update, ctx: HiwarContext, key: str, **variables: Any) -> None:
    """A short answer: as a toast on a button press, else as a message."""
    query = update.callback_query
    if query is not None:
        text = ctx.services.catalogue.plain(ctx.language, key, **variables)
        await query.answer(text[:190], show_alert=True)
    else:
        await say(update, ctx, key, **variables)


async def show_current_state(
    update: Update, ctx: HiwarContext, reference: str, user_id: int
) -> None:
    try:
        async with ctx.services.database.unit_of_work(read_only=True) as uow:
            state = await current_state(uow, reference, user_id)
    except (GrievanceNotFound, NotPermitted, NotStaff):
        return
    await say(update, ctx, "moderation.case_changed", **state_variables(ctx, state))


async def run_case_action(update: Update, ctx: HiwarContext, service: CaseService[T]) -> T | None:
    """Run `service` and commit; on refusal say why (nothing changed) and return None."""
    user = update.effective_user
    assert user is not None
    desk = desk_of(ctx.services)
    try:
        async with ctx.unit_of_work() as uow:
            now = ctx.services.clock.now()
            await remember_first_name(uow, user.id, user.first_name, now)
            outcome = await service(uow, desk, now)
            await uow.commit()
        return outcome
    except GrievanceNotFound:
        await tell(update, ctx, "grievances.staff.not_found")
    except NotPermitted:
        await tell(update, ctx, "grievances.staff.safeguarding_only")
    except NotStaff:  # the role was revoked meanwhile: as if there were no such command
        if update.callback_query is not None:
            await stale_button(update, ctx)
        else:
            await unknown_command(update, ctx)
    except InvalidTransition as error:
        catalogue, language = ctx.services.catalogue, ctx.language
        await tell(
            update,
            ctx,
            "moderation.invalid_transition",
            reference=error.reference,
            current=catalogue.plain(language, f"grievances.status.{error.current}"),
            wanted=catalogue.plain(language, f"grievances.status.{error.wanted}"),
        )
    except ReasonRequired as error:
        await tell(update, ctx, f"moderation.reason_required.{error.args[0]}")
    except InvalidChoice:
        await tell(update, ctx, "moderation.invalid_choice")
    except SameCase:
        await tell(update, ctx, "moderation.same_case")
    except CaseChanged as error:
        if update.callback_query is not None:
            await update.callback_query.answer(
                ctx.services.catalogue.plain(ctx.language, "moderation.case_changed_short")
            )
        await show_current_state(update, ctx, error.reference, user.id)
    return None


async def tell_done(update: Update, ctx: HiwarContext, outcome: CaseOutcome) -> None:
    """What was done, as a toast on a button press or a message after a command."""
    catalogue, language = ctx.services.catalogue, ctx.language
    variables = state_variables(ctx, outcome.state)
    key = f"moderation.done.{outcome.action}"
    if outcome.action == "reply" and not outcome.member_reachable:
        key = "grievances.staff.reply_kept"
    query = update.callback_query
    if query is not None:
        await query.answer(catalogue.plain(language, key, **variables)[:190])
    else:
        await say(update, ctx, key, **variables)


def register_tasks(registry: TaskRegistry, services: Services) -> None:
    def desk() -> GrievanceDesk:
        return desk_of(services)

    async def nudge(uow: UnitOfWork, payload: dict[str, Any], now: datetime) -> None:
        await send_ack_nudge(
            uow, desk(), int(payload["grievance_id"]), int(payload.get("round", 0)), now
        )

    async def digest(uow: UnitOfWork, payload: dict[str, Any], now: datetime) -> None:
        await send_digest(uow, desk(), now, policy_of(services), services.settings.timezone)

    async def spikes(uow: UnitOfWork, payload: dict[str, Any], now: datetime) -> None:
        await run_spike_check(uow, desk(), now, policy_of(services), services.settings.timezone)

    async def refresh(uow: UnitOfWork, payload: dict[str, Any], now: datetime) -> None:
        grievance = await uow.session.get(Grievance, int(payload["grievance_id"]))
        if grievance is not None:
            current = desk()
            await refresh_cards(
                uow,
                grievance,
                now,
                catalogue=current.catalogue,
                moderator_chat_id=current.moderator_chat_id,
                default_language=current.default_language,
            )

    registry.register(ACK_NUDGE_TASK, nudge)
    registry.register(CARD_REFRESH_TASK, refresh)
    registry.register(DIGEST_TASK, digest)
    registry.register(SPIKE_TASK, spikes)


async def on_startup(services: Services, application: Any) -> None:
    """The first digest and spike check (dedupe keys make this safe on every start)."""
    now = services.clock.now()
    policy = policy_of(services)
    async with services.database.unit_of_work() as uow:
        await schedule_digest(uow, now, policy, services.settings.timezone)
        await schedule_spike_check(uow, now, policy)
        await uow.commit()


def register(application: Application) -> None:  # type: ignore[type-arg]
    """No handlers of its own: the commands live in admin.case, admin.queue and others."""
