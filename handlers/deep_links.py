"""Where /start payloads (deep links) and the main-menu buttons lead.

Two small registries that features fill with one line each, e.g. in their `register`:

    deep_links.register_start_route("s", open_session_registration)   # ?start=s12
    deep_links.register_menu_action("sessions", list_sessions)        # menu:sessions

A route gets (update, ctx, target_id); a menu action gets (update, ctx). Until a feature
plugs in, the member is told, in their language, that it is not available yet.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update

from bot.members.onboarding import ID_PREFIXES, StartPayload
from bot.runtime.context import HiwarContext
from bot.runtime.replies import say

StartRoute = Callable[[Update, HiwarContext, int | None], Awaitable[None]]
MenuAction = Callable[[Update, HiwarContext], Awaitable[None]]

MENU_ITEMS = ("sessions", "surveys", "report", "my_reports", "settings", "main")

_START_ROUTES: dict[str, StartRoute] = {}
_MENU_ACTIONS: dict[str, MenuAction] = {}


def register_start_route(name: str, route: StartRoute) -> None:
    """`name` is the payload prefix (`s`, `v`) or word (`profile`)."""
    _START_ROUTES[name] = route


def register_menu_action(item: str, action: MenuAction) -> None:
    if item not in MENU_ITEMS:
        raise ValueError(f"unknown main-menu item {item!r}")
    _MENU_ACTIONS[item] = action


async def not_available(update: Update, ctx: HiwarContext) -> None:
    await say(update, ctx, "onboarding.not_available")


async def follow_start_payload(update: Update, ctx: HiwarContext, payload: StartPayload) -> None:
    route = _START_ROUTES.get(payload.name)
    if route is None:
        await not_available(update, ctx)
        return
    await route(update, ctx, payload.target_id)


async def run_menu_action(update: Update, ctx: HiwarContext, item: str) -> bool:
    """False when `item` is not a menu item (a forged or outdated button)."""
    if item not in MENU_ITEMS:
        return False
    action = _MENU_ACTIONS.get(item)
    if action is None:
        await not_available(update, ctx)
    else:
        await action(update, ctx)
    return True


def is_followable(payload: StartPayload) -> bool:
    """Printed links (`s12`, `v7`) and words a feature registered; anything else is junk."""
    return payload.name in ID_PREFIXES or payload.name in _START_ROUTES


def has_start_route(name: str) -> bool:
    return name in _START_ROUTES


def has_menu_action(item: str) -> bool:
    return item in _MENU_ACTIONS
