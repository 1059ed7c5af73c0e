"""/stats, /export and /wedid (SPEC §4.1, §5).

- `/stats` (moderators and organisers): counts by status, category and governorate (through
  disclosure control at `HIWAR_STAFF_STATS_MIN_COUNT`, never under 5 for organisers;
  safeguarding cases under "restricted" for staff without the safeguarding role), median
  times to acknowledge and resolve, overdue cases; `/stats anbar` (or `/stats الأنبار`, names
  normalised as in /queue) gives the same figures for that governorate and, when there is
  something to draw, its weekly trend chart.
- `/export [filters]` (moderators): CSV and XLSX of the cases, no reporter identity.
- `/wedid GOVERNORATE what was done` (organisers): a "you said, we did" broadcast draft with
  the governorate's aggregate counts; sent with the broadcast feature's confirm button.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler

from admin.access import staff_only
from bot.broadcasts.flow import CONFIRM_PREFIX, DISCARD_PREFIX
from bot.engines.disclosure import THRESHOLD, wording
from bot.engines.outbox import Button
from bot.engines.roles import Role, may_act
from bot.grievances.directory import category
from bot.grievances.export import export_cases
from bot.grievances.stats import (
    RESTRICTED,
    CaseStats,
    Cell,
    Trend,
    case_stats,
    trend_chart_png,
    weekly_trend,
)
from bot.grievances.stats_sheet import stats_files
from bot.moderation.actions import NotStaff
from bot.moderation.queue import BadFilter, name_tables, normalise, parse_filters
from bot.moderation.schedule import moderation_policy
from bot.moderation.you_said_we_did import NotOrganiser, UnknownGovernorate, draft_feedback
from bot.runtime.context import HiwarContext
from bot.runtime.replies import say, send_file_reply
from handlers.fallback import unknown_command

staff_commands = (
    ("stats", "moderation.commands.stats"),
    ("export", "moderation.commands.export"),
    ("wedid", "moderation.commands.wedid"),
)


def _cells(
    ctx: HiwarContext, cells: tuple[Cell, ...], prefix: str, threshold: int
) -> list[dict[str, str]]:
    catalogue, language = ctx.services.catalogue, ctx.language
    words = wording(catalogue, language, threshold)

    def label(key: str) -> str:
        if key == RESTRICTED:
            return catalogue.plain(language, "privacy.restricted")
        if prefix == "category":
            return category(key).labels.get(language, key)
        return catalogue.plain(language, f"{prefix}.{key}")

    return [
        {"label": label(cell.key), "count": catalogue.digits(language, words.of(cell.count))}
        for cell in cells
    ]


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def stats_threshold(ctx: HiwarContext) -> int:
    """Internal case counts: the configured threshold for staff who may open the cases;
    organisers who cannot never see counts under the members' threshold."""
    configured = moderation_policy(ctx.services.settings.extra).staff_min_cell
    if may_act(ctx.staff_roles, {Role.MODERATOR}):
        return configured
    return max(configured, THRESHOLD)


@staff_only(Role.MODERATOR, Role.ORGANISER)
async def stats_command(update: Update, ctx: HiwarContext) -> None:
    """`/stats`, or `/stats nineveh` / `/stats نينوى`: the figures of one governorate;
    `xlsx` (and `hxl`) anywhere adds the figures as a spreadsheet."""
    given = list(ctx.args or [])
    as_spreadsheet = any(word.lower() == "xlsx" for word in given)
    hxl = any(word.lower() == "hxl" for word in given)  # `/stats anbar xlsx hxl`
    words = [word for word in given if word.lower() not in ("xlsx", "hxl")]
    governorate: str | None = None
    if words:
        table = name_tables(ctx.services.catalogue)["governorate"]
        governorate = table.get(normalise(" ".join(words)))
        if governorate is None:
            await say(update, ctx, "moderation.stats.unknown_governorate", given=" ".join(words))
            return
    now = ctx.services.clock.now()
    threshold = stats_threshold(ctx)
    safeguarding = may_act(ctx.staff_roles, {Role.SAFEGUARDING})
    async with ctx.services.database.unit_of_work(read_only=True) as uow:
        figures = await case_stats(
            uow,
            now,
            may_see_safeguarding=safeguarding,
            threshold=threshold,
            governorate=governorate,
        )
        trend = (
            await weekly_trend(
                uow, governorate, now, may_see_safeguarding=safeguarding, threshold=threshold
            )
            if governorate
            else None
        )
    catalogue, language = ctx.services.catalogue, ctx.language
    governorate_label = (
        catalogue.plain(language, f"governorate.{governorate}") if governorate else None
    )
    await say(
        update,
        ctx,
        "moderation.stats.summary",
        governorate_label=governorate_label,
        threshold=threshold,
        total=figures.total,
        open_cases=figures.open_cases,
        overdue=figures.overdue,
        by_status=_cells(ctx, figures.by_status, "grievances.status", threshold),
        by_category=_cells(ctx, figures.by_category, "category", threshold),
        by_governorate=_cells(ctx, figures.by_governorate, "governorate", threshold),
        small=wording(catalogue, language, threshold).small,
        ack_hours=_hours(figures.median_ack_hours),
        resolve_hours=_hours(figures.median_resolve_hours),
    )
    if as_spreadsheet:
        await _send_stats_files(update, ctx, figures, trend, threshold, hxl)
    if trend is None or governorate_label is None:
        return
    if not trend.series:  # nothing to draw: no empty chart
        await say(
            update,
            ctx,
            "moderation.stats.no_chart",
            governorate=governorate_label,
            weeks=len(trend.weeks),
            threshold=threshold,
        )
        return
    labels = {code: category(code).labels.get(language, code) for code in trend.series}
    png = trend_chart_png(
        trend,
        labels,
        title=catalogue.plain(
            language, "moderation.stats.chart_title", governorate=governorate_label
        ),
        caption=catalogue.plain(language, "moderation.stats.chart_caption", threshold=threshold),
        right_to_left=language == "ar",
    )
    # In order with the summary (both sent after the update's commit).
    caption = catalogue.render(
        language, "moderation.stats.chart_sent", governorate=governorate_label
    )
    await send_file_reply(
        update, ctx, "photo", f"trend-{trend.governorate}.png", png, caption=caption
    )
    if Role.ORGANISER in ctx.staff_roles or Role.ADMIN in ctx.staff_roles:
        await say(update, ctx, "moderation.stats.wedid_hint", governorate=trend.governorate)


async def _send_stats_files(
    update: Update,
    ctx: HiwarContext,
    figures: CaseStats,
    trend: Trend | None,
    threshold: int,
    hxl: bool,
) -> None:
    user = update.effective_user
    assert user is not None
    catalogue, language = ctx.services.catalogue, ctx.language
    files = stats_files(
        figures,
        trend,
        catalogue=catalogue,
        language=language,
        words=wording(catalogue, language, threshold),
        stamp=ctx.services.clock.now().astimezone(catalogue.timezone).strftime("%Y%m%d-%H%M"),
        hxl=hxl,
    )
    # Files go to the staff member privately, never to the group.
    await ctx.bot.send_document(user.id, files.xlsx, filename=files.xlsx_name)
    await ctx.bot.send_document(
        user.id,
        files.csv,
        filename=files.csv_name,
        caption=catalogue.render(language, "moderation.stats_sheet.sent"),
    )


@staff_only(Role.MODERATOR)
async def export_command(update: Update, ctx: HiwarContext) -> None:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    words = list(ctx.args or [])
    hxl = any(word.lower() == "hxl" for word in words)  # adds the HXL hashtag row
    try:
        filters = parse_filters([word for word in words if word.lower() != "hxl"])
    except BadFilter as error:
        await say(update, ctx, "moderation.queue.bad_filter", word=error.word)
        return
    try:
        async with ctx.unit_of_work() as uow:
            files = await export_cases(
                uow,
                user.id,
                filters,
                ctx.services.clock.now(),
                catalogue=ctx.services.catalogue,
                language=ctx.language,
                hxl=hxl,
            )
            await uow.commit()
    except NotStaff:
        await unknown_command(update, ctx)
        return
    try:
        # Files go to the staff member privately, never to the group.
        for path in (files.csv_path, files.xlsx_path):
            with path.open("rb") as handle:
                await ctx.bot.send_document(user.id, handle, filename=path.name)
    finally:
        files.remove()
    if chat.id != user.id:
        await say(update, ctx, "moderation.export.sent_privately", rows=files.rows)
    else:
        await say(update, ctx, "moderation.export.done", rows=files.rows)


@staff_only(Role.ORGANISER)
async def wedid_command(update: Update, ctx: HiwarContext) -> None:
    user = update.effective_user
    assert user is not None
    message = update.effective_message
    parts = ((message.text if message else None) or "").split(maxsplit=2)
    if len(parts) < 3 or not parts[2].strip():
        await say(update, ctx, "moderation.wedid.usage")
        return
    try:
        async with ctx.unit_of_work() as uow:
            view, reach = await draft_feedback(
                uow,
                ctx.services.catalogue,
                parts[1].lower(),
                parts[2],
                user.id,
                ctx.language,
                ctx.services.settings.default_language,
                ctx.services.clock.now(),
            )
            await uow.commit()
    except UnknownGovernorate:
        await say(update, ctx, "moderation.wedid.usage")
        return
    except NotOrganiser:
        await unknown_command(update, ctx)
        return
    catalogue, language = ctx.services.catalogue, ctx.language
    buttons = [
        [
            Button(
                catalogue.plain(language, "broadcasts.buttons.send"), f"{CONFIRM_PREFIX}{view.id}"
            ),
            Button(
                catalogue.plain(language, "broadcasts.buttons.discard"),
                f"{DISCARD_PREFIX}{view.id}",
            ),
        ]
    ]
    await say(
        update,
        ctx,
        "moderation.wedid.preview",
        buttons=buttons,
        text=view.text_for(language),
        reach=reach,
    )


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("stats", stats_command))
    application.add_handler(CommandHandler("export", export_command))
    application.add_handler(CommandHandler("wedid", wedid_command))
