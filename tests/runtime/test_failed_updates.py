"""A failed update keeps its input sealed for a replay: `python -m bot failed` lists it,
`python -m bot replay ID` hands it to the bot again; admins are told (issue 14)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from bot.commands import failed, replay
from storage import sealing
from storage.sealing import new_key
from tests.fake_telegram import FakeBotApi
from tests.runtime.test_reply_lane import WITH_EFFECTS
from tests.support import effect_feature
from tests.support.effects import recorded_effects
from tests.support.harness import BotHarness


@pytest.fixture
def boom_fixed_later() -> Iterator[None]:
    yield
    effect_feature.BOOM["fixed"] = False
    sealing.configure(None)


async def test_a_failed_update_is_kept_sealed_listed_and_replayed_once(
    fake_api: FakeBotApi,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    boom_fixed_later: None,
) -> None:
    bot = BotHarness(
        fake_api, database_url, features=WITH_EFFECTS, ADMIN_IDS="42", DATA_KEY=new_key()
    )
    await bot.start()
    try:
        member = bot.user(33_001, language_code="en")
        update_id = member.command("/boom 3 secret member text")
        apology = await member.reply()
        assert "went wrong" in (apology.text or "")
        await fake_api.wait_for(lambda: bool(fake_api.messages_to(42)), timeout=20)
        alert = fake_api.messages_to(42)[0].text or ""
        assert str(update_id) in alert and "python -m bot replay ID" in alert
        assert "secret" not in alert
        async with bot.db.unit_of_work(read_only=True) as uow:
            stored = await uow.session.scalar(
                text("SELECT payload FROM inbox_updates WHERE update_id = :id"),
                {"id": update_id},
            )
        assert stored is not None and "secret" not in str(stored)  # kept, sealed

        assert await failed.run(bot.settings, argparse.Namespace()) == 0
        listing = capsys.readouterr().out
        assert f"{update_id}\t" in listing and "DeliberateFailure" in listing
        assert "secret" not in listing

        effect_feature.BOOM["fixed"] = True  # the fault is fixed
        assert await replay.run(bot.settings, argparse.Namespace(update_id=str(update_id))) == 0
        assert (await member.reply(timeout=20)).text == "effect 3"
        await bot.idle(timeout=30)
        effects = await recorded_effects(bot.db)
        assert [e.update_id for e in effects] == [update_id]
        assert await replay.run(bot.settings, argparse.Namespace(update_id=str(update_id))) == 1
        assert await failed.run(bot.settings, argparse.Namespace()) == 0
        assert "no failed updates" in capsys.readouterr().out
        assert await replay.run(bot.settings, argparse.Namespace(update_id="٣x")) == 2
    finally:
        await bot.stop()
