"""The onboarding conversation: /start payloads (deep links) and the /profile flow (SPEC §3.1).

Deep links look like `https://t.me/<bot>?start=s12` (session 12) or `?start=v7` (survey 7);
the consent gate also resumes words such as `profile`. Anything else is junk and leads to an
ordinary /start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.engines.flows import (
    SKIP,
    Choice,
    Completion,
    Finished,
    FlowInput,
    Invalid,
    Next,
    Prompt,
    StepResult,
    Text,
)
from bot.members.demographics import (
    AGE_GROUPS,
    GENDERS,
    GOVERNORATES,
    age_group_key,
    gender_key,
    governorate_key,
)
from bot.members.membership import NotAMember, age_group_from_text, save_profile
from storage.database import UnitOfWork

MAX_PAYLOAD_LENGTH = 34
_PAYLOAD = re.compile(r"([a-z][a-z_]{0,23}?)([0-9]{1,9})?", re.ASCII)
# Prefixes of printed deep links (posters, QR codes): they always carry an id.
SESSION_PREFIX = "s"
SURVEY_PREFIX = "v"
ID_PREFIXES = frozenset({SESSION_PREFIX, SURVEY_PREFIX})


@dataclass(frozen=True)
class StartPayload:
    name: str
    target_id: int | None = None

    def as_text(self) -> str:
        return self.name if self.target_id is None else f"{self.name}{self.target_id}"


def parse_start_payload(text: str | None) -> StartPayload | None:
    """`s12` → StartPayload("s", 12); `profile` → StartPayload("profile"); junk → None."""
    if not text or len(text) > MAX_PAYLOAD_LENGTH:
        return None
    match = _PAYLOAD.fullmatch(text)
    if match is None:
        return None
    name, digits = match.group(1), match.group(2)
    target_id = int(digits) if digits else None
    if name in ID_PREFIXES and target_id is None:
        return None
    if name not in ID_PREFIXES and target_id is not None:
        return None
    return StartPayload(name, target_id)


PROFILE_FLOW = "onboarding.profile"
GOVERNORATE, AGE, GENDER = "governorate", "age_group", "gender"


class ProfileFlow:
    """Governorate, then optional age group (buttons or a typed age), then optional gender."""

    name = PROFILE_FLOW

    def first_step(self, data: dict[str, Any]) -> str:
        return GOVERNORATE

    def prompt(self, step: str, data: dict[str, Any]) -> Prompt:
        if step == GOVERNORATE:
            return Prompt(
                Text("onboarding.profile.governorate_question"),
                tuple(Choice(code, label_key=governorate_key(code)) for code in GOVERNORATES),
                columns=3,
            )
        if step == AGE:
            return Prompt(
                Text("onboarding.profile.age_question"),
                tuple(Choice(code, label_key=age_group_key(code)) for code in AGE_GROUPS),
                columns=3,
                can_go_back=True,
                can_skip=True,
            )
        return Prompt(
            Text("onboarding.profile.gender_question"),
            tuple(Choice(code, label_key=gender_key(code)) for code in GENDERS),
            columns=2,
            can_go_back=True,
            can_skip=True,
        )

    def accept(self, step: str, data: dict[str, Any], given: FlowInput) -> StepResult:
        skipped = given.choice == SKIP
        if step == GOVERNORATE:
            if given.choice in GOVERNORATES:
                return Next(AGE, {**data, GOVERNORATE: given.choice})
            return Invalid(Text("onboarding.profile.governorate_invalid"))
        if step == AGE:
            if skipped:
                return Next(GENDER, {**data, AGE: None})
            if given.choice in AGE_GROUPS:
                return Next(GENDER, {**data, AGE: given.choice})
            typed = age_group_from_text(given.text)
            if typed is None:
                return Invalid(Text("onboarding.profile.age_invalid"))
            return Next(GENDER, {**data, AGE: typed})
        if skipped:
            return Finished({**data, GENDER: None})
        if given.choice in GENDERS:
            return Finished({**data, GENDER: given.choice})
        return Invalid(Text("flow.use_buttons"))

    async def finish(
        self, uow: UnitOfWork, user_id: int, data: dict[str, Any], now: datetime
    ) -> Completion:
        try:
            await save_profile(
                uow,
                user_id,
                governorate=data.get(GOVERNORATE),
                age_group=data.get(AGE),
                gender=data.get(GENDER),
                now=now,
            )
        except NotAMember:
            return Completion(Text("consent.required"))
        return Completion(Text("onboarding.profile.saved"))
