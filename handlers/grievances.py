"""Members' grievance commands (SPEC §3.4): /report, /status, /addinfo, /appeal, and a
member's answer to staff (a Telegram reply to a relayed message, or text while a case awaits
them), attached to the case once they confirm.

Thin handlers: each reads the update, calls one grievance service and renders a catalogue
message. The feature's flows, its daily retention task, its /deletemydata hook and its
start-up warning about DATA_KEY are registered here too.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.engines import field_encryption, flows
from bot.engines.flows import FlowInput, FlowRegistry, FlowReply, Text
from bot.engines.outbox import Button
from bot.engines.tasks import TaskRegistry
from bot.grievances import followup, member_replies, phone
from bot.grievances.cases import GrievanceNotFound, erase_member_grievances
from bot.grievances.directory import category, directory_is_placeholder
from bot.grievances.flow import (
    ADDITION_FLOW,
    ANSWER_FLOW,
    APPEAL_FLOW,
    REPORT_FLOW,
    FollowUpFlow,
    GrievanceDesk,
    MemberAnswerFlow,
    ReportFlow,
)
from bot.grievances.lexicon import default_lexicon
from bot.grievances.notices import tell_admins_directory_is_placeholder
from bot.grievances.policy import policy_from
from bot.grievances.submission import next_report_allowed_at
from bot.grievances.tasks import register_grievance_tasks, schedule_retention
from bot.members.erasure import register_erasure_hook
from bot.runtime.context import HiwarContext, Services
from bot.runtime.replies import planned, remove_buttons, say, show_flow_reply
from handlers import deep_links, flow_input
from handlers.consent import require_consent
from storage.database import UnitOfWork

logger = logging.getLogger(__name__)

PRIVATE = filters.ChatType.PRIVATE
DESK = "grievance_desk"
ADD_BUTTON = "gr:add:"
APPEAL_BUTTON = "gr:appeal:"
GRIEVANCE_FLOWS = frozenset({REPORT_FLOW, ADDITION_FLOW, APPEAL_FLOW})

member_commands = (
    ("report", "grievances.commands.report"),
    ("status", "grievances.commands.status"),
    ("addinfo", "grievances.commands.addinfo"),
    ("appeal", "grievances.commands.appeal"),
)


def desk_of(services: Services) -> GrievanceDesk:
    desk = services.extras[DESK]
    assert isinstance(desk, GrievanceDesk)
    return desk


def _label(ctx: HiwarContext, key: str) -> str:
    return ctx.services.catalogue.plain(ctx.language, key)


async def refuse_in_group(update: Update, ctx: HiwarContext) -> None:
    link = f"https://t.me/{ctx.bot.username}?start=report"
    button = Button(_label(ctx, "grievances.open_private_button"), url=link)
    await say(update, ctx, "grievances.private_only", buttons=[[button]])


async def start_report(update: Update, ctx: HiwarContext) -> None:
    """Start /report, or continue the draft in progress (nothing is ever started over)."""
    user = update.effective_user
    if user is None or not await require_consent(update, ctx, resume="report"):
        return
    services, now = ctx.services, ctx.services.clock.now()
    desk = desk_of(services)
    async with ctx.unit_of_work() as uow:
        if await flows.active_flow_name(uow, user.id) == REPORT_FLOW:
            current = await flows.current_prompt(uow, services.flows, user.id)
            reply: FlowReply | None = current and FlowReply(
                current.flow, current.version, current.prompt, Text("grievances.draft_resumed")
            )
            allowed_at = None
        else:
            reply = None
            allowed_at = await next_report_allowed_at(uow, user.id, now, desk.policy)
            if allowed_at is None:
                # The first message of the flow: where "remove this conversation from my
                # phone" starts deleting once the report is sent.
                started_by = update.effective_message
                initial: dict[str, Any] = {"language": ctx.language}
                if started_by is not None:
                    initial["first_message"] = started_by.message_id
                reply = await flows.start_flow(
                    uow, services.flows, user.id, REPORT_FLOW, now, initial
                )
        await uow.commit()
    if allowed_at is not None:
        await say(
            update,
            ctx,
            "grievances.limit_reached",
            limit=desk.policy.reports_per_hour,
            allowed_at=allowed_at,
        )
    elif reply is not None:
        await show_flow_reply(update, ctx, reply)


async def report_command(update: Update, ctx: HiwarContext) -> None:
    chat = update.effective_chat
    if chat is not None and chat.type != "private":
        await refuse_in_group(update, ctx)
        return
    await start_report(update, ctx)


async def report_route(update: Update, ctx: HiwarContext, _target: int | None) -> None:
    await start_report(update, ctx)


async def list_reports(update: Update, ctx: HiwarContext) -> None:
    user = update.effective_user
    if user is None:
        return
    async with ctx.services.database.unit_of_work() as uow:
        lines = await followup.list_own_reports(uow, user.id)
    if not lines:
        await say(update, ctx, "grievances.status_none")
        return
    reports = [
        {
            "reference": line.reference,
            "category": category(line.category).labels.get(ctx.language, line.category),
            "status": _label(ctx, f"grievances.status.{line.status}"),
            "created_at": line.created_at,
        }
        for line in lines
    ]
    await say(update, ctx, "grievances.status_list", reports=reports)


async def show_report(update: Update, ctx: HiwarContext, reference: str) -> None:
    user = update.effective_user
    if user is None:
        return
    services = ctx.services
    desk = desk_of(services)
    try:
        async with services.database.unit_of_work() as uow:
            report = await followup.own_report(
                uow,
                user.id,
                reference,
                services.clock.now(),
                policy=desk.policy,
                cipher=desk.cipher,
            )
    except GrievanceNotFound:
        await say(update, ctx, "grievances.not_found")
        return
    buttons = []
    if report.can_add:
        label = _label(ctx, "grievances.add_button")
        buttons.append([Button(label, f"{ADD_BUTTON}{report.reference}")])
    if report.can_appeal:
        label = _label(ctx, "grievances.appeal_button")
        buttons.append([Button(label, f"{APPEAL_BUTTON}{report.reference}")])
    await say(
        update,
        ctx,
        "grievances.status_one",
        buttons=buttons or None,
        reference=report.reference,
        category=category(report.category).labels.get(ctx.language, report.category),
        status=_label(ctx, f"grievances.status.{report.status}"),
        created_at=report.created_at,
        ack_due_at=report.ack_due_at,
        acknowledged=report.acknowledged_at is not None,
        replies=[{"text": r.text, "at": r.created_at} for r in report.replies],
        can_add=report.can_add,
        appeal_until=report.appeal_until if report.can_appeal else None,
    )


async def status_command(update: Update, ctx: HiwarContext) -> None:
    if ctx.args:
        await show_report(update, ctx, " ".join(ctx.args))
    else:
        await list_reports(update, ctx)


async def start_follow_up(update: Update, ctx: HiwarContext, kind: str, reference: str) -> None:
    user = update.effective_user
    if user is None:
        return
    services, now = ctx.services, ctx.services.clock.now()
    desk = desk_of(services)
    problem: str | None = None
    reply: FlowReply | None = None
    async with ctx.unit_of_work() as uow:
        try:
            if kind == "addition":
                canonical = await followup.check_can_add(uow, user.id, reference)
            else:
                canonical = await followup.check_can_appeal(
                    uow, user.id, reference, now, desk.policy
                )
        except GrievanceNotFound:
            problem = "grievances.not_found"
        except followup.ReportNotOpen:
            problem = "grievances.addition_closed"
        except followup.AppealNotAllowed as error:
            problem = f"grievances.appeal_refused.{error.reason}"
        else:
            name = ADDITION_FLOW if kind == "addition" else APPEAL_FLOW
            reply = await flows.start_flow(
                uow, services.flows, user.id, name, now, {"reference": canonical}
            )
        await uow.commit()
    if problem is not None:
        await say(update, ctx, problem, appeal_days=desk.policy.appeal_period.days)
    elif reply is not None:
        await show_flow_reply(update, ctx, reply)


async def addinfo_command(update: Update, ctx: HiwarContext) -> None:
    if not ctx.args:
        await say(update, ctx, "grievances.addinfo_usage")
        return
    await start_follow_up(update, ctx, "addition", " ".join(ctx.args))


async def appeal_command(update: Update, ctx: HiwarContext) -> None:
    if not ctx.args:
        await say(update, ctx, "grievances.appeal_usage")
        return
    await start_follow_up(update, ctx, "appeal", " ".join(ctx.args))


async def follow_up_button(update: Update, ctx: HiwarContext) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    data = query.data or ""
    kind = "addition" if data.startswith(ADD_BUTTON) else "appeal"
    await start_follow_up(update, ctx, kind, data.rsplit(":", 1)[-1])


async def forget_conversation(update: Update, ctx: HiwarContext) -> None:
    """ "Remove this conversation from my phone": delete the report flow's messages (the
    member's and the bot's) up to the reference message, which stays."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None
    await query.answer()
    reference_message = query.message
    first = phone.first_message_of(query.data or "")
    if chat is None or chat.type != "private" or reference_message is None or first is None:
        return
    if not phone.still_deletable(reference_message.date, ctx.services.clock.now()):
        await say(update, ctx, "grievances.forget.too_late")
        return
    for batch in phone.batches_to_delete(first, reference_message.message_id):
        payload = {"message_ids": batch}
        if not planned(chat.id, "deleteMessages", payload):
            try:
                await ctx.bot.delete_messages(chat.id, batch)
            except TelegramError as error:
                logger.info("conversation not removed: %s", type(error).__name__)
    await remove_buttons(ctx, chat.id, reference_message.message_id)
    await say(update, ctx, "grievances.forget.done")


async def forwarded_message(update: Update, ctx: HiwarContext) -> None:
    """A forwarded message is read like any other; in a report, say its origin is not kept."""
    user = update.effective_user
    message = update.effective_message
    if user is None or message is None:
        return
    async with ctx.services.database.unit_of_work() as uow:
        active = await flows.active_flow_name(uow, user.id)
    if message.text is not None:
        await flow_input.on_text(update, ctx)
    elif flow_input.media_of(update) is not None:
        await flow_input.on_media(update, ctx)
    else:
        await flow_input.on_unsupported(update, ctx)
        return
    if active in GRIEVANCE_FLOWS:
        await say(update, ctx, "grievances.forwarded_note")


async def answer_without_flow(update: Update, ctx: HiwarContext) -> bool:
    """A message outside any conversation that answers staff about one of the member's
    cases: held until the member confirms with one tap (True: it was answered here)."""
    user = update.effective_user
    message = update.effective_message
    if user is None or message is None:
        return False
    replied = message.reply_to_message.message_id if message.reply_to_message else None
    if message.text is not None:
        given = FlowInput(text=message.text[: flow_input.MAX_TEXT])
    else:
        given = FlowInput(media=flow_input.media_of(update), text=message.caption)
    services, now = ctx.services, ctx.services.clock.now()
    reply: FlowReply | None = None
    async with ctx.unit_of_work() as uow:
        target = await member_replies.answer_target(uow, user.id, replied, now)
        if target is None:
            return False
        if target.open:
            await flows.start_flow(
                uow, services.flows, user.id, ANSWER_FLOW, now, {"reference": target.reference}
            )
            reply = await flows.handle_input(uow, services.flows, user.id, given, now)
        await uow.commit()
    if reply is None:
        days = desk_of(services).policy.appeal_period.days
        await say(
            update, ctx, "grievances.answer_closed", reference=target.reference, appeal_days=days
        )
    else:
        await show_flow_reply(update, ctx, reply)
    return True


async def cancel_answer(update: Update, ctx: HiwarContext) -> None:
    user = update.effective_user
    if user is None:
        return
    async with ctx.unit_of_work() as uow:
        await flows.cancel_flow(uow, user.id)
        await uow.commit()
    await say(update, ctx, "grievances.answer_cancelled")


async def erase_reports_hook(uow: UnitOfWork, user_id: int, now: datetime) -> None:
    """/deletemydata: unlink the member from their reports (the reports stay, anonymised)."""
    await erase_member_grievances(uow, user_id, now)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("report", report_command))
    application.add_handler(CommandHandler("status", status_command, filters=PRIVATE))
    application.add_handler(CommandHandler("addinfo", addinfo_command, filters=PRIVATE))
    application.add_handler(CommandHandler("appeal", appeal_command, filters=PRIVATE))
    application.add_handler(
        CallbackQueryHandler(follow_up_button, pattern=f"^({ADD_BUTTON}|{APPEAL_BUTTON})")
    )
    application.add_handler(
        CallbackQueryHandler(forget_conversation, pattern=f"^{phone.FORGET_BUTTON}")
    )
    application.add_handler(
        MessageHandler(
            PRIVATE & filters.UpdateType.MESSAGE & filters.FORWARDED & ~filters.COMMAND,
            forwarded_message,
        )
    )
    flow_input.on_text_without_flow(answer_without_flow)
    flow_input.on_media_without_flow(answer_without_flow)
    flow_input.ask_before_cancel(ANSWER_FLOW, cancel_answer)
    deep_links.register_start_route("report", report_route)
    deep_links.register_menu_action("report", start_report)
    deep_links.register_menu_action("my_reports", list_reports)
    register_erasure_hook(erase_reports_hook)


def register_flows(registry: FlowRegistry, services: Services) -> None:
    settings = services.settings
    desk = GrievanceDesk(
        catalogue=services.catalogue,
        cipher=field_encryption.configure(
            settings.data_key.reveal() if settings.data_key else None
        ),
        policy=policy_from(settings.extra),
        lexicon=default_lexicon(),
        moderator_chat_id=settings.moderator_chat_id,
        default_language=settings.default_language,
    )
    services.extras[DESK] = desk
    registry.add(ReportFlow(desk))
    registry.add(FollowUpFlow(desk, "addition"))
    registry.add(FollowUpFlow(desk, "appeal"))
    registry.add(MemberAnswerFlow(desk))


def register_tasks(registry: TaskRegistry, services: Services) -> None:
    register_grievance_tasks(registry, lambda: desk_of(services))


async def on_startup(services: Services, application: Any) -> None:
    if services.settings.data_key is None:
        logger.warning(
            "DATA_KEY is not set: grievance descriptions, notes and contact details are "
            "stored UNENCRYPTED. Set DATA_KEY (see README, 'Protecting reports') before "
            "accepting real reports."
        )
    directory = desk_of(services).policy.referrals_file
    placeholder = directory_is_placeholder(directory)
    if placeholder:
        logger.warning(
            "The referral directory (%s) holds only example entries: members at risk are "
            "told to call the emergency services instead. Put the real services your "
            "organisation refers to in that file, or set HIWAR_REFERRALS_FILE to your own.",
            directory,
        )
    now = services.clock.now()
    async with services.database.unit_of_work() as uow:
        await schedule_retention(uow, now + timedelta(minutes=5), now)
        if placeholder:
            await tell_admins_directory_is_placeholder(
                uow,
                now,
                catalogue=services.catalogue,
                admin_ids=services.settings.admin_ids,
                default_language=services.settings.default_language,
                file_name=str(directory),
            )
        await uow.commit()
