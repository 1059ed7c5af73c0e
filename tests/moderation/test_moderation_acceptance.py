"""Acceptance of SPEC §4.1 as moderators in a staff group would try it, end to end: a report
arrives, is assigned, acknowledged, replied to, escalated, resolved and closed; the card
shows the current state after each step and /audit lists who did what."""

from __future__ import annotations

from bot.engines.roles import Role
from tests.fake_telegram import FakeBotApi
from tests.grievances.test_grievance_steps import (
    file_text_report,
    member_who_consented,
    next_reply,
    reference_in,
    running_bot,
)
from tests.members.test_onboarding_steps import label
from tests.moderation.test_moderation_steps import (
    GROUP_ID,
    audit_actions,
    card_shows,
    current,
    data_starting,
    grievance_row,
    next_with,
    reply_to,
    staff_in_group,
)

AMAL, BASIM, LEAD, MEMBER = 9201, 9202, 9203, 7301


async def test_a_case_goes_from_report_to_closed_with_the_card_and_audit_following(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url, MODERATOR_CHAT_ID=str(GROUP_ID)) as bot:
        amal = await staff_in_group(bot, AMAL, Role.MODERATOR)
        basim = await staff_in_group(bot, BASIM, Role.MODERATOR)
        await staff_in_group(bot, LEAD, Role.SAFEGUARDING)
        member = await member_who_consented(bot, MEMBER, "en")
        confirmation = await file_text_report(member, "The clinic in Ramadi has no doctor.")
        reference = reference_in(confirmation.content)

        card = await fake_api.next_message(GROUP_ID, timeout=20)
        assert reference in card.content
        assert "The clinic" not in card.content  # the group card never carries the content
        # An ordinary case arrives as one compact message with at most three buttons.
        assert label("ar", "moderation.desk.take") in card.button_texts()
        assert len(card.buttons()) <= 3

        # Amal takes it: the message now says who holds it, by name.
        amal.press(card, data=data_starting(fake_api, card, "gr:act:assign:"))
        await card_shows(fake_api, card, f"Staff {AMAL}")
        assert (await grievance_row(bot, reference)).assignee_id == AMAL

        # She acknowledges; the member is told in their language.
        amal.press(card, data=data_starting(fake_api, card, "gr:act:ack:"))
        told = await next_reply(member)
        assert reference in told.content and "Acknowledged" in told.content
        await card_shows(fake_api, card, label("ar", "grievances.status.acknowledged"))

        # She replies to the card with Telegram's reply: the member receives it.
        await bot.idle()
        reply_to(fake_api, amal, card, "We have called the health directorate.")
        relayed = await next_reply(member)
        assert "We have called the health directorate." in relayed.content
        assert str(AMAL) not in relayed.content

        # Basim opens the full card with /case and escalates from it.
        await bot.idle()
        basim.command(f"/case {reference}")
        full = await next_with(fake_api, GROUP_ID, f"Staff {AMAL}")
        basim.press(full, data=data_starting(fake_api, full, "gr:act:esc:"))
        assert "Escalated" in (await next_reply(member)).content
        await card_shows(fake_api, card, label("ar", "grievances.status.escalated"))
        await card_shows(fake_api, full, "Escalated")

        # Resolve through the status menu.
        basim.press(full, data=data_starting(fake_api, full, "gr:act:st:"))
        menu = await next_with(fake_api, GROUP_ID, "Choose the new status")
        basim.press(menu, data=data_starting(fake_api, menu, "gr:st:resolved:"))
        resolved = (await next_reply(member)).content
        assert "has been dealt with" in resolved and f"/appeal {reference}" in resolved

        # Closing needs a reason; with one, the member reads it.
        basim.command(f"/close {reference}")
        await next_with(fake_api, GROUP_ID, "only closed with a reason")
        basim.command(f"/close {reference} A doctor now visits twice a week.")
        closed = await next_reply(member)
        assert "has been closed" in closed.content
        assert "Reason: A doctor now visits twice a week." in closed.content
        assert f"within 30 days by sending <code>/appeal {reference}</code>" in closed.content
        await card_shows(fake_api, card, label("ar", "grievances.status.closed"))
        await card_shows(fake_api, full, "Closed")
        assert (await grievance_row(bot, reference)).status == "closed"
        # A closed card shows its final state and offers no stale action.
        assert [d for _, d in current(fake_api, full).buttons()] == [f"gr:case:{reference}"]
        assert "New report" not in current(fake_api, full).content

        # The audit trail shows every step and who took it; /audit GR-… shows it to Amal.
        steps = await audit_actions(bot, reference)
        assert ("grievance.assign", AMAL) in steps
        assert ("grievance.reply", AMAL) in steps
        assert [actor for action, actor in steps if action == "grievance.status"] == [
            AMAL,
            BASIM,
            BASIM,
            BASIM,
        ]
        amal.command(f"/audit {reference}")
        trail = (await next_with(fake_api, GROUP_ID, f"took {reference}")).content
        amal_did = f"<b>Staff {AMAL} (moderator)</b>"
        assert f"{amal_did} took {reference}" in trail
        assert (
            f"{amal_did} changed the status of {reference} from Received to Acknowledged" in trail
        )
        assert f"{amal_did} replied to the member on {reference}" in trail
        assert f"<b>Staff {BASIM} (moderator)</b> changed the status of {reference}" in trail
        assert str(AMAL) not in trail.replace(f"Staff {AMAL}", "")
        assert "to Closed. Reason: “A doctor now visits twice a week.”" in trail
        assert "grievance." not in trail and "The clinic" not in trail
