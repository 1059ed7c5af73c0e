"""/queue for moderators (SPEC §4.1, issue 18): a desk you move through with buttons.

`/queue` (optionally with typed filters, codes or Arabic/English names: `/queue gov=الأنبار
mine`) answers with one message; every button then edits that message in place:

- the totals of open cases by status, then one page of cases, most urgent then oldest;
- one button per listed case: it turns the message into that case's live card, with all its
  actions and "back to the queue" (the copy is remembered, so it stays true as the case
  changes);
- previous and next (keyset cursors, never an offset);
- filter buttons: status, topic and governorate pickers, and mine / unassigned / overdue
  toggles, and "clear".

Button data (≤ 64 bytes): `mq:F:ID` next page after case ID, `mqp:F:ID` the page before,
`mq0:F` first page, `mqf:F:K` a picker (K = s, c or g), `mqc:REF:F` a case in place,
`mqb:F` back from a case. F is `QueueFilters.encode()`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from admin.access import staff_only
from admin.moderation import run_case_action
from bot.engines.outbox import Button
from bot.engines.roles import Role
from bot.grievances.cases import OPEN_STATUSES, STATUSES, GrievanceNotFound
from bot.grievances.directory import categories, category
from bot.grievances.flow import GrievanceDesk
from bot.grievances.notices import forget_copy
from bot.members.demographics import GOVERNORATES
from bot.moderation.actions import NotStaff
from bot.moderation.cards import age_label, shown_name
from bot.moderation.case_view import CaseCard, case_card
from bot.moderation.queue import (
    TOTAL_CAP,
    BadFilter,
    QueueFilters,
    QueuePage,
    parse_filters,
    queue_page,
    status_totals,
)
from bot.moderation.staff_names import names_of
from bot.runtime.context import HiwarContext
from bot.runtime.replies import markup, say, send_html
from handlers.fallback import stale_button, unknown_command
from storage.database import UnitOfWork

logger = logging.getLogger(__name__)

staff_commands = (("queue", "moderation.commands.queue"),)
NEXT_PREFIX = "mq:"
PREVIOUS_PREFIX = "mqp:"
FIRST_PREFIX = "mq0:"
PICKER_PREFIX = "mqf:"
CASE_PREFIX = "mqc:"
BACK_PREFIX = "mqb:"
QUEUE_KEY = "moderation.desk.queue"


def _plain(ctx: HiwarContext, key: str, **variables: Any) -> str:
    return ctx.services.catalogue.plain(ctx.language, key, **variables)


def _filters_label(ctx: HiwarContext, filters: QueueFilters) -> str:
    language = ctx.language
    parts = []
    if filters.status:
        parts.append(_plain(ctx, f"grievances.status.{filters.status}"))
    if filters.category:
        parts.append(category(filters.category).labels.get(language, filters.category))
    if filters.governorate:
        parts.append(_plain(ctx, f"governorate.{filters.governorate}"))
    for flag in ("mine", "unassigned", "overdue"):
        if getattr(filters, flag):
            parts.append(_plain(ctx, f"{QUEUE_KEY}.{flag}"))
    return " · ".join(parts)


def render_page(
    ctx: HiwarContext,
    page: QueuePage,
    filters: QueueFilters,
    totals: dict[str, int],
    names: dict[int, str],
    now: datetime,
) -> str:
    catalogue, language = ctx.services.catalogue, ctx.language
    lines = [
        {
            "number": number,
            "reference": line.reference,
            "status_label": catalogue.plain(language, f"grievances.status.{line.status}"),
            "priority_label": catalogue.plain(language, f"moderation.priority.p{line.priority}"),
            "category_label": category(line.category).labels.get(language, line.category),
            "governorate_label": (
                catalogue.plain(language, f"governorate.{line.governorate}")
                if line.governorate
                else catalogue.plain(language, "moderation.desk.restricted")
            ),
            "assignee": shown_name(
                catalogue, language, names.get(line.assignee_id or 0), line.assignee_id is not None
            ),
            "age": age_label(catalogue, language, line.created_at, now),
            "overdue": line.overdue,
        }
        for number, line in enumerate(page.lines, start=1)
    ]
    shown_totals = [
        {
            "label": catalogue.plain(language, f"grievances.status.{status}"),
            "count": (
                catalogue.plain(language, f"{QUEUE_KEY}.more", count=TOTAL_CAP)
                if totals.get(status, 0) >= TOTAL_CAP
                else catalogue.digits(language, f"{totals.get(status, 0):,}")
            ),
        }
        for status in OPEN_STATUSES
    ]
    return catalogue.render(
        language,
        f"{QUEUE_KEY}.page",
        lines=lines,
        totals=shown_totals,
        filters=_filters_label(ctx, filters),
    )


def page_buttons(ctx: HiwarContext, page: QueuePage, filters: QueueFilters) -> list[list[Button]]:
    encoded = filters.encode()
    cases = [
        Button(f"{number}. {line.reference}", f"{CASE_PREFIX}{line.reference}:{encoded}")
        for number, line in enumerate(page.lines, start=1)
    ]
    rows = [cases[start : start + 2] for start in range(0, len(cases), 2)]
    moves = []
    if page.previous_cursor is not None:
        label = _plain(ctx, f"{QUEUE_KEY}.previous")
        moves.append(Button(label, f"{PREVIOUS_PREFIX}{encoded}:{page.previous_cursor}"))
    if page.next_cursor is not None:
        label = _plain(ctx, f"{QUEUE_KEY}.next")
        moves.append(Button(label, f"{NEXT_PREFIX}{encoded}:{page.next_cursor}"))
    if moves:
        rows.append(moves)

    def picker(kind: str, key: str, value: str | None) -> Button:
        label = _plain(ctx, f"{QUEUE_KEY}.{key}")
        return Button(
            f"{label}: {value} ▾" if value else f"{label} ▾", f"{PICKER_PREFIX}{encoded}:{kind}"
        )

    rows.append(
        [
            picker(
                "s",
                "status",
                _plain(ctx, f"grievances.status.{filters.status}") if filters.status else None,
            ),
            picker(
                "c",
                "topic",
                category(filters.category).labels.get(ctx.language, filters.category)
                if filters.category
                else None,
            ),
        ]
    )
    rows.append(
        [
            picker(
                "g",
                "governorate",
                _plain(ctx, f"governorate.{filters.governorate}") if filters.governorate else None,
            )
        ]
    )

    def toggle(flag: str) -> Button:
        active = bool(getattr(filters, flag))
        changes: dict[str, object] = {flag: not active}
        if flag == "mine" and not active:
            changes["unassigned"] = False
        if flag == "unassigned" and not active:
            changes["mine"] = False
        label = ("✅ " if active else "") + _plain(ctx, f"{QUEUE_KEY}.{flag}")
        return Button(label, f"{FIRST_PREFIX}{filters.replace(**changes).encode()}")

    rows.append([toggle("mine"), toggle("unassigned"), toggle("overdue")])
    if encoded != "-":
        rows.append([Button(_plain(ctx, f"{QUEUE_KEY}.clear"), f"{FIRST_PREFIX}-")])
    return rows


async def _page(
    ctx: HiwarContext,
    user_id: int,
    filters: QueueFilters,
    after_id: int | None = None,
    before_id: int | None = None,
) -> tuple[str, list[list[Button]]] | None:
    now = ctx.services.clock.now()
    try:
        async with ctx.services.database.unit_of_work(read_only=True) as uow:
            page = await queue_page(
                uow, user_id, filters, now, after_id=after_id, before_id=before_id
            )
            totals = await status_totals(uow)
            names = await names_of(uow, [line.assignee_id for line in page.lines])
    except (NotStaff, GrievanceNotFound):
        return None
    text = render_page(ctx, page, filters, totals, names, now)
    return text, page_buttons(ctx, page, filters)


async def _edit(update: Update, text: str, buttons: list[list[Button]]) -> None:
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_text(
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup(buttons),
            disable_web_page_preview=True,
        )
    except TelegramError:
        logger.info("the queue message could not be edited")


@staff_only(Role.MODERATOR)
async def queue_command(update: Update, ctx: HiwarContext) -> None:
    user = update.effective_user
    assert user is not None
    try:
        filters = parse_filters(list(ctx.args or []), ctx.services.catalogue)
    except BadFilter as error:
        await say(update, ctx, "moderation.queue.bad_filter", word=error.word)
        return
    shown = await _page(ctx, user.id, filters)
    if shown is None:
        await unknown_command(update, ctx)
        return
    if not any(
        (button.callback_data or "").startswith(CASE_PREFIX) for row in shown[1] for button in row
    ):
        await say(update, ctx, "moderation.queue.empty")  # with the list of typed filters
        return
    await send_html(update, ctx, shown[0], markup(shown[1]))


def _picker(ctx: HiwarContext, filters: QueueFilters, kind: str) -> tuple[str, list[list[Button]]]:
    language = ctx.language
    options: list[tuple[str, QueueFilters]]
    if kind == "s":
        title = "choose_status"
        options = [(_plain(ctx, f"{QUEUE_KEY}.open_cases"), filters.replace(status=None))] + [
            (_plain(ctx, f"grievances.status.{status}"), filters.replace(status=status))
            for status in STATUSES
        ]
        width = 2
    elif kind == "c":
        title = "choose_topic"
        options = [
            (known.labels.get(language, known.code), filters.replace(category=known.code))
            for known in categories()
        ]
        width = 2
    else:
        title = "choose_governorate"
        options = [
            (_plain(ctx, f"governorate.{code}"), filters.replace(governorate=code))
            for code in GOVERNORATES
        ]
        width = 3
    buttons = [Button(label, f"{FIRST_PREFIX}{chosen.encode()}") for label, chosen in options]
    rows = [buttons[start : start + width] for start in range(0, len(buttons), width)]
    rows.append([Button(_plain(ctx, "moderation.desk.back"), f"{FIRST_PREFIX}{filters.encode()}")])
    return ctx.services.catalogue.render(language, f"{QUEUE_KEY}.{title}"), rows


def _decode(encoded: str) -> QueueFilters | None:
    try:
        return QueueFilters.decode(encoded)
    except BadFilter:
        return None


def _cursor(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) <= 18 else None


@staff_only(Role.MODERATOR)
async def queue_button(update: Update, ctx: HiwarContext) -> None:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    data = query.data or ""
    prefix, _, rest = data.partition(":")
    if prefix == "mqc":
        reference, _, encoded = rest.partition(":")
        filters = _decode(encoded)
        if filters is None or not reference:
            await stale_button(update, ctx)
            return
        await _open_in_place(update, ctx, reference, filters)
        return
    encoded, _, argument = rest.partition(":")
    filters = _decode(encoded)
    if filters is None:
        await stale_button(update, ctx)
        return
    shown: tuple[str, list[list[Button]]] | None
    if prefix == "mqf" and argument in ("s", "c", "g"):
        shown = _picker(ctx, filters, argument)
    elif prefix in ("mq", "mqp") and _cursor(argument) is not None:
        cursor = _cursor(argument)
        if prefix == "mq":
            shown = await _page(ctx, user.id, filters, after_id=cursor)
        else:
            shown = await _page(ctx, user.id, filters, before_id=cursor)
    elif prefix in ("mq0", "mqb") and not argument:
        if prefix == "mqb" and query.message is not None:
            async with ctx.unit_of_work() as uow:
                await forget_copy(uow, query.message.chat.id, query.message.message_id)
                await uow.commit()
        shown = await _page(ctx, user.id, filters)
    else:
        await stale_button(update, ctx)
        return
    if shown is None:
        await stale_button(update, ctx)
        return
    await query.answer()
    await _edit(update, *shown)


async def _open_in_place(
    update: Update, ctx: HiwarContext, reference: str, filters: QueueFilters
) -> None:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    message = query.message
    if message is None:
        await stale_button(update, ctx)
        return
    back = Button(_plain(ctx, "moderation.desk.back"), f"{BACK_PREFIX}{filters.encode()}")
    language = ctx.language

    async def view(uow: UnitOfWork, desk: GrievanceDesk, now: datetime) -> CaseCard:
        return await case_card(
            uow,
            desk,
            reference,
            user.id,
            language,
            now,
            back=back,
            chat_id=message.chat.id,
            message_id=message.message_id,
        )

    card = await run_case_action(update, ctx, view)
    if card is None:
        return
    await query.answer()
    await _edit(update, card.text, card.buttons)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("queue", queue_command))
    application.add_handler(CallbackQueryHandler(queue_button, pattern="^mq(|p|0|f|c|b):"))
