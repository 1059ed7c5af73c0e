"""A member's own settings: /language, /profile, /deletemydata and the settings menu."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.engines import flows
from bot.engines.flows import FlowRegistry
from bot.engines.outbox import Button
from bot.members import membership
from bot.members.erasure import erase_member
from bot.members.onboarding import PROFILE_FLOW, ProfileFlow
from bot.runtime.context import HiwarContext, current_scope
from bot.runtime.replies import say, show_flow_reply
from handlers import deep_links
from handlers.consent import require_consent
from handlers.onboarding import privacy, show_notice

PRIVATE = filters.ChatType.PRIVATE
LANGUAGE_LABELS = {"ar": "onboarding.language.arabic", "en": "onboarding.language.english"}


def _label(ctx: HiwarContext, key: str) -> str:
    return ctx.services.catalogue.plain(ctx.language, key)


async def language(update: Update, ctx: HiwarContext) -> None:
    buttons = [[Button(_label(ctx, key), f"lang:{code}") for code, key in LANGUAGE_LABELS.items()]]
    await say(update, ctx, "onboarding.language.choose", buttons=buttons)


async def on_language_button(update: Update, ctx: HiwarContext) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None
    await query.answer()
    chosen = (query.data or "").removeprefix("lang:")
    if user is None or chosen not in LANGUAGE_LABELS:
        await say(update, ctx, "flow.stale_button_no_flow")
        return
    scope = current_scope()
    try:
        async with ctx.unit_of_work() as uow:
            await membership.choose_language(uow, user.id, chosen, ctx.services.clock.now())
            await uow.commit()
    except membership.NotAMember:
        # Nothing may be stored yet: show the notice in the chosen language instead; the
        # choice is stored if they agree.
        if scope is not None:
            scope.language = chosen
        await show_notice(update, ctx, source="chosen")
        return
    if scope is not None:
        scope.language = chosen
    await say(update, ctx, "onboarding.language.changed")


async def profile(update: Update, ctx: HiwarContext) -> None:
    if await require_consent(update, ctx, resume="profile"):
        await start_profile(update, ctx, None)


async def start_profile(update: Update, ctx: HiwarContext, _target: int | None) -> None:
    user = update.effective_user
    if user is None:
        return
    async with ctx.unit_of_work() as uow:
        reply = await flows.start_flow(
            uow, ctx.services.flows, user.id, PROFILE_FLOW, ctx.services.clock.now()
        )
        await uow.commit()
    await show_flow_reply(update, ctx, reply)


async def delete_my_data(update: Update, ctx: HiwarContext) -> None:
    user = update.effective_user
    if user is None:
        return
    async with ctx.services.database.unit_of_work() as uow:
        known = await membership.member_profile(uow, user.id)
    if known is None:
        await say(update, ctx, "onboarding.erase.nothing_stored")
        return
    await say(
        update,
        ctx,
        "onboarding.erase.confirm",
        buttons=[
            [Button(_label(ctx, "onboarding.erase.confirm_button"), "erase:yes")],
            [Button(_label(ctx, "onboarding.erase.keep_button"), "erase:no")],
        ],
    )


async def on_erase_button(update: Update, ctx: HiwarContext) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None
    await query.answer()
    if user is None:
        return
    if query.data == "erase:no":
        await say(update, ctx, "onboarding.erase.kept")
        return
    if query.data != "erase:yes":
        await say(update, ctx, "flow.stale_button_no_flow")
        return
    async with ctx.unit_of_work() as uow:
        result = await erase_member(uow, user.id, ctx.services.clock.now())
        await uow.commit()
    await say(
        update,
        ctx,
        "onboarding.erase.done" if result.member_erased else "onboarding.erase.nothing_stored",
    )


async def show_settings(update: Update, ctx: HiwarContext) -> None:
    def item(key: str, data: str) -> Button:
        return Button(_label(ctx, key), data)

    await say(
        update,
        ctx,
        "onboarding.settings.title",
        buttons=[
            [item("onboarding.settings.profile", "settings:profile")],
            [item("onboarding.settings.language", "settings:language")],
            [item("onboarding.settings.privacy", "settings:privacy")],
            [item("onboarding.settings.erase", "settings:erase")],
            [item("onboarding.settings.back", "menu:main")],
        ],
    )


async def on_settings_button(update: Update, ctx: HiwarContext) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    actions = {
        "settings:profile": profile,
        "settings:language": language,
        "settings:privacy": privacy,
        "settings:erase": delete_my_data,
    }
    action = actions.get(query.data or "")
    if action is None:
        await say(update, ctx, "flow.stale_button_no_flow")
        return
    await action(update, ctx)


def register(application: Application) -> None:  # type: ignore[type-arg]
    deep_links.register_start_route("profile", start_profile)
    deep_links.register_menu_action("settings", show_settings)
    application.add_handler(CommandHandler("language", language, filters=PRIVATE))
    application.add_handler(CommandHandler("profile", profile, filters=PRIVATE))
    application.add_handler(CommandHandler("deletemydata", delete_my_data, filters=PRIVATE))
    application.add_handler(CallbackQueryHandler(on_language_button, pattern=r"^lang:"))
    application.add_handler(CallbackQueryHandler(on_erase_button, pattern=r"^erase:"))
    application.add_handler(CallbackQueryHandler(on_settings_button, pattern=r"^settings:"))


def register_flows(registry: FlowRegistry, _services: object) -> None:
    registry.add(ProfileFlow())
