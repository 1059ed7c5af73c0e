"""/queue for moderators (SPEC §4.1): open cases, most urgent then oldest first, with filters
(`status=… cat=… gov=… mine overdue`) and a button for the next page.

The next-page button carries the filters (compactly) and the id of the last case shown; the
service continues from there with an index range read (keyset), never an offset.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from admin.access import staff_only
from bot.engines.outbox import Button
from bot.engines.roles import Role
from bot.grievances.cases import GrievanceNotFound
from bot.grievances.directory import category
from bot.moderation.actions import NotStaff
from bot.moderation.queue import BadFilter, QueueFilters, QueuePage, parse_filters, queue_page
from bot.runtime.context import HiwarContext
from bot.runtime.replies import markup, say, send_html
from handlers.fallback import stale_button, unknown_command

staff_commands = (("queue", "moderation.commands.queue"),)
NEXT_PREFIX = "mq:"


def render_page(ctx: HiwarContext, page: QueuePage, filters: QueueFilters) -> str:
    catalogue, language = ctx.services.catalogue, ctx.language
    lines = [
        {
            "reference": line.reference,
            "status_label": catalogue.plain(language, f"grievances.status.{line.status}"),
            "priority_label": catalogue.plain(language, f"moderation.priority.p{line.priority}"),
            "category_label": category(line.category).labels.get(language, line.category),
            "governorate_label": (
                catalogue.plain(language, f"governorate.{line.governorate}")
                if line.governorate
                else ""
            ),
            "assignee": line.assignee_id or 0,
            "created_at": line.created_at,
            "overdue": line.overdue,
        }
        for line in page.lines
    ]
    return catalogue.render(
        language, "moderation.queue.page", lines=lines, filtered=filters.encode() != "-"
    )


async def show_queue(
    update: Update, ctx: HiwarContext, filters: QueueFilters, after_id: int | None
) -> None:
    user = update.effective_user
    assert user is not None
    try:
        async with ctx.services.database.unit_of_work(read_only=True) as uow:
            page = await queue_page(
                uow, user.id, filters, ctx.services.clock.now(), after_id=after_id
            )
    except (NotStaff, GrievanceNotFound):
        await unknown_command(update, ctx)
        return
    if not page.lines:
        await say(update, ctx, "moderation.queue.empty")
        return
    buttons = None
    if page.next_cursor is not None:
        label = ctx.services.catalogue.plain(ctx.language, "moderation.queue.next")
        buttons = [[Button(label, f"{NEXT_PREFIX}{filters.encode()}:{page.next_cursor}")]]
    await send_html(update, ctx, render_page(ctx, page, filters), markup(buttons))


@staff_only(Role.MODERATOR)
async def queue_command(update: Update, ctx: HiwarContext) -> None:
    try:
        filters = parse_filters(list(ctx.args or []))
    except BadFilter as error:
        await say(update, ctx, "moderation.queue.bad_filter", word=error.word)
        return
    await show_queue(update, ctx, filters, None)


@staff_only(Role.MODERATOR)
async def next_page(update: Update, ctx: HiwarContext) -> None:
    query = update.callback_query
    assert query is not None
    encoded, _, cursor = (query.data or "").removeprefix(NEXT_PREFIX).partition(":")
    try:
        filters = QueueFilters.decode(encoded)
    except BadFilter:
        filters = None
    if filters is None or not cursor.isdigit() or len(cursor) > 18:
        await stale_button(update, ctx)
        return
    await query.answer()
    await show_queue(update, ctx, filters, int(cursor))


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("queue", queue_command))
    application.add_handler(CallbackQueryHandler(next_page, pattern=f"^{NEXT_PREFIX}"))
