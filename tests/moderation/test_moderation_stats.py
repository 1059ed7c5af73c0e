"""/stats for staff (issue 18): a governorate filter that filters (names in Arabic or English,
normalised), a chart only when there is something to draw, and internal case counts with
their own threshold (`HIWAR_STAFF_STATS_MIN_COUNT`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.config import ConfigError
from bot.engines.roles import Role
from bot.grievances.stats import staff_stats_threshold
from storage.models import Member
from tests.fake_telegram import FakeBotApi, SimulatedUser
from tests.grievances.test_grievance_steps import running_bot, staff_member
from tests.members.test_onboarding_steps import text
from tests.moderation.test_moderation_steps import new_case, seed_cases
from tests.support.harness import BotHarness

MODERATOR = 9801
ARABIC_MODERATOR = 9802


async def seed_two_governorates(bot: BotHarness) -> None:
    """Nineveh: 7 water cases and 2 closed livelihoods cases; Anbar: 20 public services."""
    now = bot.clock.now()
    cases = [
        new_case(98000 + n, now - timedelta(days=n % 9, hours=1), governorate="nineveh")
        for n in range(7)
    ]
    cases += [
        new_case(
            98100 + n,
            now - timedelta(days=2),
            governorate="nineveh",
            category="livelihoods",
            status="closed",
        )
        for n in range(2)
    ]
    cases += [new_case(98200 + n, now - timedelta(days=n % 25), priority=1) for n in range(20)]
    await seed_cases(bot, cases)


async def arabic_moderator(bot: BotHarness) -> SimulatedUser:
    user = await staff_member(bot, ARABIC_MODERATOR, Role.MODERATOR)
    async with bot.db.unit_of_work() as uow:
        await uow.session.execute(
            update(Member).where(Member.user_id == ARABIC_MODERATOR).values(language="ar")
        )
        await uow.commit()
    return user


async def test_stats_of_one_governorate_in_english_and_arabic_names(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url) as bot:
        await seed_two_governorates(bot)
        moderator = await staff_member(bot, MODERATOR, Role.MODERATOR)

        moderator.command("/stats")
        overall = (await moderator.reply(timeout=20)).content
        assert "All cases: 29" in overall and "By governorate" in overall
        assert "• Nineveh: 9" in overall and "• Anbar: 20" in overall
        assert "livelihoods: 2" in overall  # small internal counts are shown to moderators

        moderator.command("/stats nineveh")
        summary = (await moderator.reply(timeout=20)).content
        assert summary.startswith("<b>Grievance figures: Nineveh</b>")
        assert "All cases: 9 · open: 7" in summary
        assert "Public services: 7" in summary and "livelihoods: 2" in summary
        assert "By governorate" not in summary and "Anbar" not in summary
        chart = await moderator.reply(timeout=20)
        assert chart.kind == "photo" and (chart.document_bytes or b"")[:4] == b"\x89PNG"

        # A governorate without reports: its (empty) figures and no empty chart.
        moderator.command("/stats basra")
        basra = (await moderator.reply(timeout=20)).content
        assert "Grievance figures: Basra" in basra and "All cases: 0" in basra
        no_chart = await moderator.reply(timeout=20)
        assert no_chart.kind == "text"
        assert no_chart.content == text(
            "en", "moderation.stats.no_chart", governorate="Basra", weeks=12, threshold=1
        )
        moderator.command("/stats")
        assert (await moderator.reply(timeout=20)).content == overall  # not a chart

        # Arabic names, with or without the article, hamza or alef maqsura variants.
        arabic = await arabic_moderator(bot)
        for typed in ("/stats نينوى", "/stats نينوي", "/stats النينوى", "/stats Nineveh"):
            arabic.command(typed)
            figures = (await arabic.reply(timeout=20)).content
            assert figures.startswith("<b>أرقام البلاغات: \u2068نينوى\u2069</b>"), typed
            assert "كل البلاغات: \u2068٩\u2069" in figures, typed
            # Counts in Arabic-Indic digits, like every number in Arabic text.
            assert "• \u2068الخدمات العامة\u2069: \u2068٧\u2069" in figures, typed
            assert (await arabic.reply(timeout=20)).kind == "photo", typed
        for typed in ("/stats الانبار", "/stats الأنبار", "/stats انبار"):
            arabic.command(typed)
            figures = (await arabic.reply(timeout=20)).content
            assert "الأنبار" in figures and "٢٠" in figures, typed
            await arabic.reply(timeout=20)  # its chart
        arabic.command("/stats صلاح الدين")
        assert "صلاح الدين" in (await arabic.reply(timeout=20)).content
        await arabic.reply(timeout=20)  # no chart: a sentence saying so

        # An unknown place is named back, in the member's language, and nothing is lost.
        arabic.command("/stats ٣٣ أطلانطس")
        refused = (await arabic.reply(timeout=20)).content
        assert refused == text("ar", "moderation.stats.unknown_governorate", given="٣٣ أطلانطس")


async def test_a_configured_threshold_hides_small_internal_counts(
    fake_api: FakeBotApi, database_url: str
) -> None:
    async with running_bot(fake_api, database_url, HIWAR_STAFF_STATS_MIN_COUNT="5") as bot:
        await seed_two_governorates(bot)
        moderator = await staff_member(bot, MODERATOR, Role.MODERATOR)
        moderator.command("/stats nineveh")
        summary = (await moderator.reply(timeout=20)).content
        assert "livelihoods: &lt;5" in summary and "livelihoods: 2" not in summary
        assert "Small counts are shown as" in summary
        await moderator.reply(timeout=20)  # the chart: Public services has 7 reports


def test_the_threshold_setting_is_checked() -> None:
    assert staff_stats_threshold({}) == 1
    assert staff_stats_threshold({"HIWAR_STAFF_STATS_MIN_COUNT": "10"}) == 10
    assert staff_stats_threshold({"HIWAR_STAFF_STATS_MIN_COUNT": "٥"}) == 5
    for bad in ("0", "101", "five", "-3", "2.5"):
        with pytest.raises(ConfigError, match="HIWAR_STAFF_STATS_MIN_COUNT"):
            staff_stats_threshold({"HIWAR_STAFF_STATS_MIN_COUNT": bad})
