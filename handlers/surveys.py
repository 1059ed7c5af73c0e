"""Members and needs surveys: /survey, the main-menu button and the `?start=v<ID>` link
(SPEC §3.3). The questions themselves run on the flow engine (bot.surveys.flow), so
typed answers and buttons reach them through handlers/flow_input.py.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.engines import flows
from bot.engines.flows import FlowRegistry
from bot.engines.outbox import Button
from bot.members.erasure import register_erasure_hook
from bot.runtime.context import HiwarContext, Services
from bot.runtime.replies import remove_buttons, say, show_flow_reply
from bot.surveys.flow import FLOW_NAME, SurveyFlow
from bot.surveys.lifecycle import (
    Opening,
    SurveyClosed,
    SurveyNotFound,
    open_survey_for_member,
    open_surveys_for,
    stop_survey,
)
from bot.surveys.responses import erase_member_survey_data
from handlers import deep_links, flow_input
from handlers.consent import require_consent

PRIVATE = filters.ChatType.PRIVATE
PREFIX = "svm:"
STOP_PREFIX = "svx:"
TITLE_LIMIT = 40

member_commands = (("survey", "surveys.commands.survey"),)


def _short(text: str) -> str:
    return text if len(text) <= TITLE_LIMIT else f"{text[: TITLE_LIMIT - 1]}…"


async def list_open_surveys(update: Update, ctx: HiwarContext) -> None:
    user = update.effective_user
    if user is None:
        return
    async with ctx.services.database.unit_of_work() as uow:
        surveys = await open_surveys_for(uow, user.id)
    if not surveys:
        await say(update, ctx, "surveys.member.none_open")
        return
    catalogue = ctx.services.catalogue
    buttons = [
        [
            Button(
                catalogue.plain(
                    ctx.language,
                    "surveys.member.answered_button" if s.answered else "surveys.member.button",
                    title=_short(s.title_ar if ctx.language == "ar" else s.title_en),
                ),
                f"{PREFIX}{s.id}",
            )
        ]
        for s in surveys
    ]
    await say(update, ctx, "surveys.member.list", buttons=buttons, count=len(surveys))


async def open_survey_from_link(update: Update, ctx: HiwarContext, survey_id: int | None) -> None:
    """Open survey `survey_id` for the member (deep link `?start=v<ID>`, or a list button)."""
    user = update.effective_user
    if user is None:
        return
    if survey_id is None:
        await list_open_surveys(update, ctx)
        return
    if not await require_consent(update, ctx, resume=f"v{survey_id}"):
        return
    services = ctx.services
    try:
        async with ctx.unit_of_work() as uow:
            opened = await open_survey_for_member(
                uow, services.flows, user.id, survey_id, services.clock.now()
            )
            await uow.commit()
    except SurveyNotFound:
        await say(update, ctx, "surveys.member.not_found")
        return
    except SurveyClosed:
        await say(update, ctx, "surveys.member.closed")
        return
    intro = {
        Opening.STARTED: "surveys.member.starting",
        Opening.RESUMED: "surveys.member.resuming",
        Opening.REVISING: "surveys.member.revising",
    }[opened.how]
    await say(update, ctx, intro, title_en=opened.title_en, title_ar=opened.title_ar)
    await show_flow_reply(update, ctx, opened.reply)


async def on_survey_button(update: Update, ctx: HiwarContext) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    raw = (query.data or "").removeprefix(PREFIX)
    if not raw.isdigit() or len(raw) > 12:
        await say(update, ctx, "flow.stale_button_no_flow")
        return
    await open_survey_from_link(update, ctx, int(raw))


async def ask_before_stopping(update: Update, ctx: HiwarContext) -> None:
    """Cancel in a survey never throws answers away silently: stop for now, or discard."""
    catalogue, language = ctx.services.catalogue, ctx.language
    options = (("pause", "flow.pause_button"), ("discard", "flow.discard_button"))
    buttons = [
        [Button(catalogue.plain(language, key), f"{STOP_PREFIX}{value}")] for value, key in options
    ]
    buttons.append(
        [Button(catalogue.plain(language, "flow.continue_button"), f"{STOP_PREFIX}continue")]
    )
    await say(update, ctx, "flow.cancel_ask", buttons=buttons)


async def on_stop_button(update: Update, ctx: HiwarContext) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    await query.answer()
    choice = (query.data or "").removeprefix(STOP_PREFIX)
    if query.message is not None:
        await remove_buttons(ctx, query.message.chat.id, query.message.message_id)
    user_id, services = update.effective_user.id, ctx.services
    if choice == "continue":
        async with services.database.unit_of_work() as uow:
            reply = await flows.current_prompt(uow, services.flows, user_id)
        if reply is None or reply.flow != FLOW_NAME:
            await say(update, ctx, "flow.stale_button_no_flow")
            return
        await show_flow_reply(update, ctx, reply)
        return
    if choice not in ("pause", "discard"):
        await say(update, ctx, "flow.stale_button_no_flow")
        return
    async with ctx.unit_of_work() as uow:
        prompt = await flows.current_prompt(uow, services.flows, user_id)
        stopped = await stop_survey(uow, user_id, services.clock.now(), keep=choice == "pause")
        await uow.commit()
    if not stopped:
        await say(update, ctx, "flow.nothing_to_cancel")
        return
    if prompt is not None and prompt.previous is not None and prompt.previous.message_id:
        await remove_buttons(
            ctx, query.message.chat.id if query.message else user_id, prompt.previous.message_id
        )
    await say(update, ctx, "flow.paused" if choice == "pause" else "flow.discarded")


def register_flows(registry: FlowRegistry, services: Services) -> None:
    clock, timezone = services.clock, services.settings.timezone
    registry.add(SurveyFlow(lambda: clock.now().astimezone(timezone).date(), clock.now, timezone))


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("survey", list_open_surveys, filters=PRIVATE))
    application.add_handler(CallbackQueryHandler(on_survey_button, pattern=f"^{PREFIX}"))
    application.add_handler(CallbackQueryHandler(on_stop_button, pattern=f"^{STOP_PREFIX}"))
    flow_input.ask_before_cancel(FLOW_NAME, ask_before_stopping)
    deep_links.register_start_route("v", open_survey_from_link)
    deep_links.register_menu_action("surveys", list_open_surveys)
    register_erasure_hook(erase_member_survey_data)
