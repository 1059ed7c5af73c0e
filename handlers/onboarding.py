"""/start, the privacy notice and consent, the main menu, /privacy and /help (SPEC §3.1).

Nothing personal is stored before the member presses "I agree": the notice's buttons carry
the language it was shown in (and how that language was learnt) and any deep link to resume,
so the member row is created in one step when they agree.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.engines.command_menu import MenuCommand
from bot.engines.outbox import Button
from bot.engines.roles import roles_of
from bot.members import membership
from bot.members.language import detect_text_language, language_from_telegram_code
from bot.members.onboarding import StartPayload, parse_start_payload
from bot.runtime.context import HiwarContext, current_scope
from bot.runtime.replies import say, send_html
from handlers import deep_links, flow_input
from handlers.command_menus import command_menu_of
from handlers.prefilters import text_of

PRIVATE = filters.ChatType.PRIVATE

member_commands = (
    ("start", "onboarding.commands.start"),
    ("help", "onboarding.commands.help"),
    ("profile", "onboarding.commands.profile"),
    ("language", "onboarding.commands.language"),
    ("privacy", "onboarding.commands.privacy"),
    ("deletemydata", "onboarding.commands.deletemydata"),
    ("cancel", "onboarding.commands.cancel"),
)


def language_source(update: Update, ctx: HiwarContext) -> str:
    """How the language in use was learnt (stored with the member when they agree)."""
    user = update.effective_user
    language = ctx.language
    if user is not None and language_from_telegram_code(user.language_code) == language:
        return "telegram"
    if detect_text_language(text_of(update)) == language:
        return "text"
    return "default"


def _label(ctx: HiwarContext, key: str) -> str:
    return ctx.services.catalogue.plain(ctx.language, key)


def consent_buttons(
    ctx: HiwarContext, source: str, resume: StartPayload | None
) -> list[list[Button]]:
    agree = f"consent:yes:{ctx.language}:{source}"
    if resume is not None:
        agree = f"{agree}:{resume.as_text()}"
    return [
        [Button(_label(ctx, "onboarding.consent.agree_button"), agree)],
        [Button(_label(ctx, "onboarding.consent.decline_button"), "consent:no")],
    ]


async def show_notice(
    update: Update,
    ctx: HiwarContext,
    *,
    resume: StartPayload | None = None,
    greet: bool = False,
    source: str | None = None,
) -> None:
    buttons = consent_buttons(ctx, source or language_source(update, ctx), resume)
    if greet:
        await say(update, ctx, "onboarding.greeting")
    await say(update, ctx, "onboarding.privacy_notice", buttons=buttons)


async def show_main_menu(update: Update, ctx: HiwarContext) -> None:
    def item(name: str) -> Button:
        return Button(_label(ctx, f"onboarding.menu.{name}"), f"menu:{name}")

    await say(
        update,
        ctx,
        "onboarding.menu.title",
        buttons=[
            [item("sessions"), item("surveys")],
            [item("report"), item("my_reports")],
            [item("settings")],
        ],
    )


def _payload_of(args: list[str] | None) -> StartPayload | None:
    if not args or len(args) != 1:
        return None
    payload = parse_start_payload(args[0])
    return payload if payload is not None and deep_links.is_followable(payload) else None


async def start(update: Update, ctx: HiwarContext) -> None:
    user = update.effective_user
    if user is None:
        return
    payload = _payload_of(ctx.args)
    async with ctx.services.database.unit_of_work() as uow:
        profile = await membership.member_profile(uow, user.id)
    if profile is None or not profile.consented:
        await show_notice(update, ctx, resume=payload, greet=True)
        return
    if payload is not None:
        await deep_links.follow_start_payload(update, ctx, payload)
        return
    await say(update, ctx, "onboarding.welcome_back")
    await show_main_menu(update, ctx)


async def greet_newcomer(update: Update, ctx: HiwarContext) -> bool:
    """A first "hello" (any text) from someone who has not consented starts onboarding."""
    user = update.effective_user
    if user is None:
        return False
    async with ctx.services.database.unit_of_work() as uow:
        profile = await membership.member_profile(uow, user.id)
    if profile is not None and profile.consented:
        return False
    await show_notice(update, ctx, resume=None, greet=True)
    return True


async def on_consent_button(update: Update, ctx: HiwarContext) -> None:
    """`consent:show[:resume]`, `consent:yes:<lang>:<source>[:resume]`, `consent:no`."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None
    await query.answer()
    if user is None:
        return
    parts = (query.data or "").split(":")
    action = parts[1] if len(parts) > 1 else ""
    if action == "show" and len(parts) <= 3:
        resume = parse_start_payload(parts[2]) if len(parts) == 3 else None
        await show_notice(update, ctx, resume=resume)
    elif action == "no" and len(parts) == 2:
        await say(update, ctx, "onboarding.consent.declined")
    elif action == "yes" and 4 <= len(parts) <= 5:
        await agree(update, ctx, user.id, parts[2], parts[3], parts[4] if len(parts) == 5 else "")
    else:
        await say(update, ctx, "flow.stale_button_no_flow")


async def agree(
    update: Update, ctx: HiwarContext, user_id: int, language: str, source: str, resume: str
) -> None:
    if language not in membership.SUPPORTED_LANGUAGES:
        language = ctx.language
    async with ctx.unit_of_work() as uow:
        joined = await membership.record_consent(
            uow, user_id, language=language, language_source=source, now=ctx.services.clock.now()
        )
        await uow.commit()
    scope = current_scope()
    if scope is not None:
        scope.language = language
    payload = parse_start_payload(resume)
    await say(update, ctx, "onboarding.consent.thanks" if joined else "onboarding.welcome_back")
    if payload is not None and deep_links.is_followable(payload):
        await deep_links.follow_start_payload(update, ctx, payload)
        return
    await show_main_menu(update, ctx)


async def on_menu_button(update: Update, ctx: HiwarContext) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    item = (query.data or "").removeprefix("menu:")
    if not await deep_links.run_menu_action(update, ctx, item):
        await say(update, ctx, "flow.stale_button_no_flow")


async def privacy(update: Update, ctx: HiwarContext) -> None:
    user = update.effective_user
    if user is None:
        return
    async with ctx.services.database.unit_of_work() as uow:
        profile = await membership.member_profile(uow, user.id)
    if profile is not None and profile.consented:
        await say(update, ctx, "onboarding.privacy_notice")
        await say(update, ctx, "onboarding.privacy_consented")
        return
    await show_notice(update, ctx)


async def help_command(update: Update, ctx: HiwarContext) -> None:
    user = update.effective_user
    if user is None:
        return
    catalogue, language = ctx.services.catalogue, ctx.language
    menu = command_menu_of(ctx)
    async with ctx.services.database.unit_of_work() as uow:
        roles = await roles_of(uow, user.id)

    def lines(commands: tuple[MenuCommand, ...]) -> list[str]:
        return [
            catalogue.render(
                language,
                "onboarding.help.line",
                command=f"/{c.command}",
                description=catalogue.plain(language, c.description_key),
            )
            for c in commands
        ]

    parts = [catalogue.render(language, "onboarding.help.member_intro"), *lines(menu.member)]
    staff = menu.staff_commands_for(roles)
    if staff:
        parts += ["", catalogue.render(language, "onboarding.help.staff_intro"), *lines(staff)]
    await send_html(update, ctx, "\n".join(parts))


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("start", start, filters=PRIVATE))
    application.add_handler(CommandHandler("help", help_command, filters=PRIVATE))
    application.add_handler(CommandHandler("privacy", privacy, filters=PRIVATE))
    application.add_handler(CallbackQueryHandler(on_consent_button, pattern=r"^consent:"))
    application.add_handler(CallbackQueryHandler(on_menu_button, pattern=r"^menu:"))
    flow_input.on_text_without_flow(greet_newcomer)
    deep_links.register_menu_action("main", show_main_menu)  # settings' Back button
