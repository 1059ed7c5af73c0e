"""The printable poster of a published session (`/poster s12`), audited (SPEC §4)."""

from __future__ import annotations

from datetime import datetime

from bot.engines.audit import record_action
from bot.engines.posters import Poster, PosterText
from bot.sessions.lifecycle import PUBLISHED, SessionView, get_session, session_variables
from messages import Catalogue
from storage.database import UnitOfWork


class NotShareable(Exception):
    """A draft, cancelled or finished session: a poster would invite people to nothing."""


def _text(catalogue: Catalogue, language: str, view: SessionView) -> PosterText:
    variables = session_variables(view, language, catalogue)
    return PosterText(
        title=view.title(language),
        details=(
            catalogue.plain(language, "posters.session.when", **variables),
            catalogue.plain(language, "posters.session.where", **variables),
        ),
        call_to_action=catalogue.plain(language, "posters.session.call"),
    )


async def session_poster(
    uow: UnitOfWork,
    catalogue: Catalogue,
    session_id: int,
    *,
    url: str,
    actor_id: int,
    now: datetime,
) -> Poster:
    view = await get_session(uow, session_id)
    if view.status != PUBLISHED or view.ends_at <= now:
        raise NotShareable(session_id)
    await record_action(
        uow,
        actor_id=actor_id,
        action="session.poster",
        record_type="session",
        record_id=str(session_id),
        now=now,
    )
    return poster_of(catalogue, view, url)


def poster_of(catalogue: Catalogue, view: SessionView, url: str) -> Poster:
    """What the poster of `view` says, in both languages."""
    return Poster(
        arabic=_text(catalogue, "ar", view),
        english=_text(catalogue, "en", view),
        url=url,
        footer=catalogue.plain("en", "posters.footer", payload=f"s{view.id}"),
    )
