"""/audit for admins: the newest audit entries, `/audit user 123`, `/audit <type> <id>`.
`show_case_audit` shows the trail of one case; `admin.case` routes `/audit GR-…` from
moderators to it (SPEC §4.1), with the roles checked by the service.

Entries are told in words in the reader's language (`bot.moderation.audit_wording`): when (in
TIMEZONE), who (name and role, never a Telegram id), what, from what to what, and the reason
of a status change where the reader may open the case; never what a member wrote.
"""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from admin.access import staff_only
from admin.staff import parse_user_id
from bot.engines.outbox import Button
from bot.engines.roles import Role
from bot.grievances.cases import GrievanceNotFound, NotPermitted
from bot.moderation.actions import NotStaff
from bot.moderation.audit_browsing import AuditPage, browse_audit
from bot.moderation.audit_wording import audit_in_words
from bot.moderation.case_view import case_audit
from bot.runtime.context import HiwarContext
from bot.runtime.replies import markup, say, send_html
from handlers.fallback import unknown_command

staff_commands = (("audit", "staff.commands.audit"),)

_RECORD_TYPE = re.compile(r"[a-z_]{1,32}")
_RECORD_ID = re.compile(r"[\w.:-]{1,64}")
OLDER_PREFIX = "audit:older:"


async def show_page(
    update: Update, ctx: HiwarContext, page: AuditPage, more_data: str | None
) -> None:
    if not page.lines:
        await say(update, ctx, "staff.audit.empty")
        return
    user = update.effective_user
    assert user is not None
    async with ctx.services.database.unit_of_work(read_only=True) as uow:
        lines = await audit_in_words(
            uow, ctx.services.catalogue, ctx.language, page.lines, user.id
        )
    title = ctx.services.catalogue.render(ctx.language, "staff.audit.title")
    text = "\n".join([title, *lines])
    buttons = None
    if more_data is not None:
        label = ctx.services.catalogue.plain(ctx.language, "staff.audit.older_button")
        buttons = [[Button(label, more_data)]]
    await send_html(update, ctx, text, markup(buttons))


async def show_case_audit(update: Update, ctx: HiwarContext, reference: str) -> None:
    """Who did what to one case: moderators; safeguarding cases, safeguarding staff only.
    Roles are read by the service; anyone else gets the unknown-command answer."""
    user = update.effective_user
    assert user is not None
    try:
        async with ctx.services.database.unit_of_work(read_only=True) as uow:
            page = await case_audit(uow, reference, user.id)
    except GrievanceNotFound:
        await say(update, ctx, "grievances.staff.not_found")
        return
    except NotPermitted:
        await say(update, ctx, "grievances.staff.safeguarding_only")
        return
    except NotStaff:
        await unknown_command(update, ctx)
        return
    await show_page(update, ctx, page, None)


def _older_data(page: AuditPage, user_id: int | None) -> str | None:
    if page.older_than is None:
        return None
    suffix = f":{user_id}" if user_id is not None else ""
    return f"{OLDER_PREFIX}{page.older_than}{suffix}"


@staff_only(Role.ADMIN)
async def audit(update: Update, ctx: HiwarContext) -> None:
    args = ctx.args or []
    user_id: int | None = None
    record: tuple[str, str] | None = None
    if len(args) == 2 and args[0].lower() == "user":
        user_id = parse_user_id(args[1])
        if user_id is None:
            await say(update, ctx, "staff.audit.usage")
            return
    elif len(args) == 2 and _RECORD_TYPE.fullmatch(args[0]) and _RECORD_ID.fullmatch(args[1]):
        record = (args[0], args[1])
    elif args:
        await say(update, ctx, "staff.audit.usage")
        return
    async with ctx.services.database.unit_of_work() as uow:
        page = await browse_audit(
            uow,
            record_type=record[0] if record else None,
            record_id=record[1] if record else None,
            user_id=user_id,
        )
    await show_page(update, ctx, page, None if record else _older_data(page, user_id))


@staff_only(Role.ADMIN)
async def older_entries(update: Update, ctx: HiwarContext) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    parts = (query.data or "").removeprefix(OLDER_PREFIX).split(":")
    before = int(parts[0]) if parts[0].isdigit() and len(parts[0]) < 19 else None
    user_id = parse_user_id(parts[1]) if len(parts) == 2 else None
    if before is None or len(parts) > 2 or (len(parts) == 2 and user_id is None):
        await say(update, ctx, "flow.stale_button_no_flow")
        return
    async with ctx.services.database.unit_of_work() as uow:
        page = await browse_audit(uow, user_id=user_id, before_id=before)
    await show_page(update, ctx, page, _older_data(page, user_id))


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("audit", audit))
    application.add_handler(CallbackQueryHandler(older_entries, pattern=f"^{OLDER_PREFIX}"))
