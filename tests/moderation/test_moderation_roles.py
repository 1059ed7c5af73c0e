"""Each staff action × each role (allowed or refused), safeguarding cases, forged buttons and
bad input (SPEC §4, §4.1, §8): refusals are clear and change nothing."""

from __future__ import annotations

from bot.engines.roles import Role
from tests.fake_telegram import FakeBotApi, SimulatedUser
from tests.grievances.test_grievance_steps import member_who_consented, running_bot, staff_member
from tests.members.test_onboarding_steps import text
from tests.moderation.test_moderation_steps import (
    audit_actions,
    grievance_row,
    new_case,
    seed_cases,
    wait_until,
)
from tests.support.harness import BotHarness

PERSONAS: dict[str, Role | None] = {
    "member": None,
    "organiser": Role.ORGANISER,
    "moderator": Role.MODERATOR,
    "safeguarding": Role.SAFEGUARDING,
    "admin": Role.ADMIN,
}
MODERATING = {"moderator", "safeguarding", "admin"}
# command template → (who may use it, a fragment of the allowed answer)
ACTIONS: dict[str, tuple[set[str], str]] = {
    "/queue": (MODERATING, "Queue"),
    "/case {ref}": (MODERATING, "{ref}"),
    "/note {ref} Called the office": (MODERATING, "Note kept"),
    "/reply {ref} We are on it": (MODERATING, "on its way"),
    "/audit {ref}": (MODERATING, "Audit log"),
    "/stats": (MODERATING | {"organiser"}, "Grievance figures"),
    "/close {ref} Sorted with the office": (MODERATING, "is now: Closed"),
    "/wedid anbar The clinic reopened": ({"organiser", "admin"}, "Preview of the update"),
}


async def people(bot: BotHarness) -> dict[str, SimulatedUser]:
    users = {}
    for offset, (name, role) in enumerate(PERSONAS.items()):
        user_id = 8400 + offset
        if role is None:
            users[name] = await member_who_consented(bot, user_id)
        else:
            users[name] = await staff_member(bot, user_id, role)
    return users


async def answer_to(user: SimulatedUser, command: str) -> str:
    user.command(command)
    return (await user.reply(timeout=20)).content


async def test_every_role_and_every_case_command(fake_api: FakeBotApi, database_url: str) -> None:
    async with running_bot(fake_api, database_url) as bot:
        users = await people(bot)
        member = await member_who_consented(bot, 7401)
        now = bot.clock.now()
        cases = {name: new_case(500 + i, now) for i, name in enumerate(PERSONAS)}
        await seed_cases(bot, list(cases.values()), reporter=7401)
        unknown = text("en", "errors.unknown_command")
        for name, user in users.items():
            ref = cases[name].reference
            for template, (allowed, fragment) in ACTIONS.items():
                answer = await answer_to(user, template.format(ref=ref))
                if name in allowed:
                    assert fragment.format(ref=ref) in answer, (name, template, answer)
                else:
                    assert answer == unknown, (name, template, answer)
            if name not in MODERATING:
                assert await audit_actions(bot, ref) == []
                assert (await grievance_row(bot, ref)).status == "new"

        # The member heard only from the staff who may answer them (relays are due-time tasks).
        async def relayed() -> bool:
            replies = [m for m in member.messages() if "We are on it" in m.content]
            assert len(replies) <= len(MODERATING)
            return len(replies) == len(MODERATING)

        await wait_until(relayed)


async def test_safeguarding_cases_and_forged_or_bad_input(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url) as bot:
        users = await people(bot)
        now = bot.clock.now()
        gbv = new_case(601, now, category="gbv", safeguarding=True)
        plain = new_case(602, now)
        await seed_cases(bot, [gbv, plain], reporter=7402)
        refused = text("en", "grievances.staff.safeguarding_only")
        moderator, lead = users["moderator"], users["safeguarding"]
        for command in ("/case {r}", "/note {r} x", "/reply {r} x", "/close {r} x", "/audit {r}"):
            assert await answer_to(moderator, command.format(r=gbv.reference)) == refused
        assert gbv.reference in await answer_to(lead, f"/case {gbv.reference}")
        # The queue shows a safeguarding case to a moderator without its governorate.
        queue = await answer_to(moderator, "/queue")
        assert gbv.reference in queue and plain.reference in queue

        # A forged card button from a member changes nothing.
        await answer_to(users["member"], "/help")
        shown = users["member"].last_message()
        users["member"].press(shown, data=f"gr:act:assign:{plain.reference}:1")
        await bot.idle()
        assert (await grievance_row(bot, plain.reference)).assignee_id is None

        # Bad input: clear answers, nothing changed.
        not_found = text("en", "grievances.staff.not_found")
        assert await answer_to(moderator, "/case GR-2222-2222") == not_found
        assert await answer_to(moderator, "/case junk") == not_found
        assert "Usage" in await answer_to(moderator, "/case")
        assert "Usage" in await answer_to(moderator, "/note")
        assert "only closed with a reason" in await answer_to(
            moderator, f"/close {plain.reference}"
        )
        assert "duplicate of itself" in await answer_to(
            moderator, f"/duplicate {plain.reference} {plain.reference}"
        )
        assert "filter" in await answer_to(moderator, "/queue gov=atlantis")
        assert "Usage" in await answer_to(moderator, "/stats atlantis")
        assert (await grievance_row(bot, plain.reference)).status == "new"
        assert await audit_actions(bot, plain.reference) == []

        # A duplicate is rejected and linked to its main case; it cannot then be closed again.
        main = new_case(603, now)
        await seed_cases(bot, [main])
        answer = await answer_to(moderator, f"/duplicate {plain.reference} {main.reference}")
        assert "Not taken forward" in answer
        row = await grievance_row(bot, plain.reference)
        assert row.status == "rejected" and row.main_case_id is not None
        assert "cannot be moved" in await answer_to(moderator, f"/close {plain.reference} again")
