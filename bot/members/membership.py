"""Becoming a member and the member's own settings: consent, language and profile (SPEC §3.1).

Nothing about a person is stored before they accept the privacy notice: the member row is
created by `record_consent`, with the language and how it was learnt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.engines.numbers import parse_integer
from bot.members.demographics import AGE_GROUPS, GENDERS, GOVERNORATES
from storage.database import UnitOfWork
from storage.models import Member

SUPPORTED_LANGUAGES = ("ar", "en")
# How the stored language was learnt: Telegram's language_code, the member's own text, the
# bot's DEFAULT_LANGUAGE, or the member's explicit choice (/language).
LANGUAGE_SOURCES = ("telegram", "text", "default", "chosen")
YOUNGEST_AGE = 10
OLDEST_AGE = 120


class NotAMember(Exception):
    """The person has not accepted the privacy notice, so nothing may be stored for them."""


@dataclass(frozen=True)
class MemberProfile:
    user_id: int
    language: str | None
    governorate: str | None
    age_group: str | None
    gender: str | None
    consented: bool


def _profile(member: Member) -> MemberProfile:
    return MemberProfile(
        member.user_id,
        member.language,
        member.governorate,
        member.age_group,
        member.gender,
        member.consented_at is not None,
    )


async def member_profile(uow: UnitOfWork, user_id: int) -> MemberProfile | None:
    member = await uow.session.get(Member, user_id)
    return None if member is None else _profile(member)


async def record_consent(
    uow: UnitOfWork, user_id: int, *, language: str, language_source: str, now: datetime
) -> bool:
    """The member accepted the notice; returns True when they became a member just now."""
    if language not in SUPPORTED_LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    source = language_source if language_source in LANGUAGE_SOURCES else "default"
    member = await uow.session.get(Member, user_id)
    if member is None:
        uow.session.add(
            Member(
                user_id=user_id,
                language=language,
                language_source=source,
                consented_at=now,
                created_at=now,
                last_seen_at=now,
                subscribed=True,
                unreachable=False,
            )
        )
        await uow.session.flush()
        return True
    member.last_seen_at = now
    if member.consented_at is None:
        member.consented_at = now
        return True
    return False


async def choose_language(uow: UnitOfWork, user_id: int, language: str, now: datetime) -> None:
    """Store the member's explicit language choice (/language)."""
    if language not in SUPPORTED_LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    member = await uow.session.get(Member, user_id)
    if member is None or member.consented_at is None:
        raise NotAMember(user_id)
    member.language = language
    member.language_source = "chosen"
    member.last_seen_at = now


async def save_profile(
    uow: UnitOfWork,
    user_id: int,
    *,
    governorate: str | None,
    age_group: str | None,
    gender: str | None,
    now: datetime,
) -> None:
    """Store the answers of /profile; a skipped optional answer is stored as unknown."""
    for value, allowed in (
        (governorate, GOVERNORATES),
        (age_group, AGE_GROUPS),
        (gender, GENDERS),
    ):
        if value is not None and value not in allowed:
            raise ValueError(f"unknown profile value {value!r}")
    member = await uow.session.get(Member, user_id)
    if member is None or member.consented_at is None:
        raise NotAMember(user_id)
    member.governorate = governorate
    member.age_group = age_group
    member.gender = gender
    member.last_seen_at = now


def age_group_for(age: int) -> str | None:
    """The age group of an age in years; None for ages nobody plausibly has."""
    if not YOUNGEST_AGE <= age <= OLDEST_AGE:
        return None
    if age < 18:
        return "under_18"
    if age <= 24:
        return "18_24"
    if age <= 34:
        return "25_34"
    if age <= 49:
        return "35_49"
    return "50_plus"


def age_group_from_text(text: str | None) -> str | None:
    """A typed age ("25", "٢٥") as its age group; None for anything else."""
    if text is None or len(text) > 16:
        return None
    age = parse_integer(text)
    return None if age is None else age_group_for(age)
