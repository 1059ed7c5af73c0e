"""Organisers and surveys: upload an XLSForm, preview it in both languages, publish or close it,
list surveys (/surveys_admin) and read results (/results ID) as charts, CSV and XLSX (SPEC §4.2).

An .xlsx sent in a private chat by an organiser is taken as a survey upload (a handler group
before the flows, so it never reaches a member's flow); from anyone else it goes on to the
ordinary handlers. Every command and button is `staff_only(Role.ORGANISER)`; the services
audit every action.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from admin.access import StaffCallback, staff_only
from bot.engines.disclosure import wording
from bot.engines.numbers import parse_integer
from bot.engines.outbox import Button
from bot.engines.roles import Role, may_act, roles_of
from bot.engines.share_links import SURVEY, start_url
from bot.runtime.context import HiwarContext
from bot.runtime.replies import say, send_album, send_file_reply, send_html
from bot.surveys.album import ChartPhoto, album_batches, results_album
from bot.surveys.lifecycle import (
    SurveyNotFound,
    SurveyStatus,
    SurveySummary,
    close_survey,
    import_survey,
    list_surveys,
    publish_survey,
    survey_with_form,
)
from bot.surveys.presentation import (
    group_labels,
    preview_variables,
    problem_lines,
)
from bot.surveys.report import collect_results, render_report
from bot.surveys.results import SurveyResults
from bot.surveys.xlsform.form import LANGUAGES, SurveyForm
from bot.surveys.xlsform.reading import (
    MAX_WORKBOOK_BYTES,
    FormProblem,
    FormRefused,
    read_xlsform,
)

PREFIX = "sva:"
UPLOAD_GROUP = -5  # after language and flood control, before every feature and flow
LISTED_WITH_BUTTONS = 10
PRIVATE = filters.ChatType.PRIVATE
XLSX = filters.Document.FileExtension("xlsx") | filters.Document.FileExtension("xls")

staff_commands = (
    ("surveys_admin", "surveys.commands.surveys_admin"),
    ("results", "surveys.commands.results"),
)


def organisers(callback: StaffCallback) -> Any:
    """`staff_only(Role.ORGANISER)`, as a coroutine function python-telegram-bot accepts."""
    guarded = staff_only(Role.ORGANISER)(callback)

    @functools.wraps(guarded)
    async def run(update: Update, ctx: HiwarContext) -> None:
        await guarded(update, ctx)

    return run


def _label(ctx: HiwarContext, key: str, **variables: object) -> str:
    return ctx.services.catalogue.plain(ctx.language, key, **variables)


def _title(ctx: HiwarContext, summary: SurveySummary) -> str:
    return summary.title_ar if ctx.language == "ar" else summary.title_en


def _status_buttons(ctx: HiwarContext, summary: SurveySummary) -> list[Button]:
    def button(key: str, action: str) -> Button:
        label = _label(ctx, f"surveys.admin.{key}", id=summary.id)
        return Button(label, f"{PREFIX}{action}:{summary.id}")

    buttons = [button("preview_button", "v")]
    if summary.status is not SurveyStatus.OPEN:
        buttons.append(button("publish_button", "p"))
    if summary.status is not SurveyStatus.CLOSED:
        buttons.append(button("close_button", "c"))
    if summary.status is not SurveyStatus.DRAFT:
        buttons.append(button("results_button", "r"))
    return buttons


async def show_preview(
    update: Update,
    ctx: HiwarContext,
    summary: SurveySummary,
    form: SurveyForm,
    warnings: tuple[FormProblem, ...] = (),
) -> None:
    """The form as members will see it, in English and in Arabic, then the actions."""
    for language in LANGUAGES:
        variables = preview_variables(ctx.services.catalogue, ctx.language, form, language)
        await say(update, ctx, "surveys.admin.preview", **variables)
    if warnings:
        problems = problem_lines(ctx.services.catalogue, ctx.language, warnings)
        await say(update, ctx, "surveys.admin.warnings", problems=problems)
    await say(
        update,
        ctx,
        "surveys.admin.summary",
        buttons=[_status_buttons(ctx, summary)],
        id=summary.id,
        title=_title(ctx, summary),
        status=_label(ctx, f"surveys.status.{summary.status.value}"),
        responses=summary.responses,
    )


async def import_workbook(
    update: Update, ctx: HiwarContext, content: bytes, source_name: str | None
) -> None:
    user = update.effective_user
    try:
        read = await asyncio.to_thread(read_xlsform, content, source_name)
    except FormRefused as refused:
        problems = problem_lines(ctx.services.catalogue, ctx.language, refused.problems)
        await say(update, ctx, "surveys.admin.refused", problems=problems)
        return
    async with ctx.unit_of_work() as uow:
        summary = await import_survey(
            uow,
            read,
            actor_id=user.id if user else None,
            source_name=source_name,
            now=ctx.services.clock.now(),
        )
        await uow.commit()
    questions = len(read.form.questions)
    await say(update, ctx, "surveys.admin.imported", id=summary.id, questions=questions)
    await show_preview(update, ctx, summary, read.form, read.warnings)


@organisers
async def import_uploaded_form(update: Update, ctx: HiwarContext) -> None:
    message = update.effective_message
    document = message.document if message else None
    if document is None:
        return
    if document.file_size and document.file_size > MAX_WORKBOOK_BYTES:
        await say(update, ctx, "surveys.problem.too_large")
        return
    try:
        telegram_file = await ctx.bot.get_file(document.file_id)
        content = bytes(await telegram_file.download_as_bytearray())
    except TelegramError:
        await say(update, ctx, "surveys.admin.download_failed")
        return
    await import_workbook(update, ctx, content, document.file_name)


async def on_workbook(update: Update, ctx: HiwarContext) -> None:
    """An .xlsx in a private chat: a survey upload from an organiser, else not ours."""
    user = update.effective_user
    if user is None:
        return
    async with ctx.services.database.unit_of_work() as uow:
        held = await roles_of(uow, user.id)
    if not may_act(held, {Role.ORGANISER}):
        return  # a member's document: the ordinary handlers answer it
    await import_uploaded_form(update, ctx)
    raise ApplicationHandlerStop


@organisers
async def surveys_admin(update: Update, ctx: HiwarContext) -> None:
    async with ctx.services.database.unit_of_work() as uow:
        surveys = await list_surveys(uow)
    if not surveys:
        await say(update, ctx, "surveys.admin.none")
        return
    rows = [
        {
            "id": s.id,
            "title": _title(ctx, s),
            "status": _label(ctx, f"surveys.status.{s.status.value}"),
            "responses": s.responses,
        }
        for s in surveys
    ]
    buttons = [_status_buttons(ctx, s) for s in surveys[:LISTED_WITH_BUTTONS]]
    await say(update, ctx, "surveys.admin.list", buttons=buttons, surveys=rows)


# `/results ID labels`: the question labels as column headers (Kobo's "labels" export).
HEADER_WORDS = {"names": "names", "name": "names", "labels": "labels", "label": "labels"}


async def _results(
    update: Update, ctx: HiwarContext, survey_id: int, headers: str = "names", hxl: bool = False
) -> None:
    user = update.effective_user
    try:
        async with ctx.unit_of_work() as uow:
            results = await collect_results(
                uow, survey_id, actor_id=user.id if user else None, now=ctx.services.clock.now()
            )
            await uow.commit()
    except SurveyNotFound:
        await say(update, ctx, "surveys.admin.not_found", id=survey_id)
        return
    await send_results(update, ctx, results, headers, hxl)


async def send_results(
    update: Update,
    ctx: HiwarContext,
    results: SurveyResults,
    headers: str = "names",
    hxl: bool = False,
) -> None:
    """One summary message, the charts as albums of photos, then CSV and XLSX."""
    catalogue, language = ctx.services.catalogue, ctx.language
    chat = update.effective_chat
    summary = results.summary
    labels = group_labels(catalogue, language)
    album = await asyncio.to_thread(results_album, results, catalogue, language, labels)
    await send_html(update, ctx, album.summary)
    if chat is None or results.responses == 0:
        return
    await _send_album(update, ctx, album.photos)
    report = await asyncio.to_thread(
        render_report,
        results,
        language,
        labels,
        words=wording(catalogue, language),
        headers=headers,
        timezone=catalogue.timezone,
        hxl=hxl,
    )
    repeats = [info.name for info in results.form.sections if info.repeat]
    csv_caption = catalogue.render(
        language,
        "surveys.export.csv_caption",
        zipped=report.csv_name.endswith(".zip"),
        repeats=", ".join(repeats),
        labels=headers == "labels",
        id=summary.id,
    )
    await send_file_reply(
        update, ctx, "document", report.csv_name, report.csv, caption=csv_caption
    )
    await send_file_reply(update, ctx, "document", report.xlsx_name, report.xlsx)
    await say(update, ctx, "surveys.results.files_sent")


async def _send_album(update: Update, ctx: HiwarContext, photos: Sequence[ChartPhoto]) -> None:
    """Photos in albums of up to ten (a single photo on its own): inline, open full size."""
    for batch in album_batches(photos):
        if len(batch) == 1:
            photo = batch[0]
            await send_file_reply(
                update, ctx, "photo", photo.filename, photo.png, caption=photo.caption
            )
        else:
            await send_album(update, ctx, [(p.filename, p.png, p.caption) for p in batch])


@organisers
async def results_command(update: Update, ctx: HiwarContext) -> None:
    words = list(ctx.args or [])
    hxl = any(word.lower() == "hxl" for word in words)  # adds the HXL hashtag row
    args = [word for word in words if word.lower() != "hxl"]
    survey_id = parse_integer(args[0]) if len(args) in (1, 2) else None
    headers = HEADER_WORDS.get(args[1].lower()) if len(args) == 2 else "names"
    if survey_id is None or survey_id <= 0 or headers is None:
        await say(update, ctx, "surveys.admin.results_usage")
        return
    await _results(update, ctx, survey_id, headers, hxl)


@organisers
async def on_admin_button(update: Update, ctx: HiwarContext) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    parts = (query.data or "").removeprefix(PREFIX).split(":")
    if len(parts) != 2 or parts[0] not in {"v", "p", "c", "r"} or not parts[1].isdigit():
        await say(update, ctx, "flow.stale_button_no_flow")
        return
    action, survey_id = parts[0], int(parts[1])
    if action == "r":
        await _results(update, ctx, survey_id)
        return
    user = update.effective_user
    actor = user.id if user else None
    now = ctx.services.clock.now()
    try:
        async with ctx.unit_of_work() as uow:
            if action == "p":
                summary = await publish_survey(uow, survey_id, actor_id=actor, now=now)
            elif action == "c":
                summary = await close_survey(uow, survey_id, actor_id=actor, now=now)
            summary, form = await survey_with_form(uow, survey_id)
            await uow.commit()
    except SurveyNotFound:
        await say(update, ctx, "surveys.admin.not_found", id=survey_id)
        return
    if action == "v":
        await show_preview(update, ctx, summary, form)
    elif action == "p":
        link = start_url(ctx.bot.username, f"{SURVEY}{survey_id}")
        title = _title(ctx, summary)
        await say(update, ctx, "surveys.admin.published", id=survey_id, title=title, link=link)
    else:
        await say(update, ctx, "surveys.admin.closed", id=survey_id, title=_title(ctx, summary))


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(
        MessageHandler(PRIVATE & filters.UpdateType.MESSAGE & XLSX, on_workbook),
        group=UPLOAD_GROUP,
    )
    application.add_handler(CommandHandler("surveys_admin", surveys_admin))
    application.add_handler(CommandHandler("results", results_command))
    application.add_handler(CallbackQueryHandler(on_admin_button, pattern=f"^{PREFIX}"))
