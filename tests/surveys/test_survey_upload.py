"""An organiser sends an XLSForm to the bot in chat; it is downloaded, checked, previewed and
published (SPEC §4.2); a broken workbook is refused with sheet, row and reason."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Survey
from tests.support.harness import BotHarness
from tests.surveys.test_survey_steps import NEEDS, WAIT, label, make_organiser, text

ORGANISER = 93_001
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def test_an_uploaded_xlsform_is_imported_previewed_and_published(bot: BotHarness) -> None:
    await make_organiser(bot, ORGANISER)
    organiser = bot.user(ORGANISER, "en")
    organiser.upload_document("needs.xlsx", NEEDS.read_bytes(), XLSX)
    imported = await organiser.reply(WAIT)
    async with bot.db.unit_of_work() as uow:
        survey = (await uow.session.scalars(select(Survey))).one()
        survey_id, status = survey.id, survey.status
    assert imported.content == text("en", "surveys.admin.imported", id=survey_id, questions=16)
    assert str(status).endswith("draft")
    publish = label("en", "surveys.admin.publish_button", id=survey_id)

    def has_publish_button() -> bool:
        return any(publish in m.button_texts() for m in organiser.messages())

    await bot.api.wait_for(has_publish_button, timeout=WAIT)
    preview = next(m for m in organiser.messages() if publish in m.button_texts())
    organiser.press(preview, text=publish)
    await bot.api.wait_for(
        lambda: any("is open" in (m.text or "") for m in organiser.messages()), timeout=WAIT
    )
    async with bot.db.unit_of_work() as uow:
        status = (await uow.session.scalars(select(Survey.status))).one()
    assert str(status).endswith("open")


async def test_a_workbook_that_is_not_an_xlsform_is_refused_and_nothing_is_stored(
    bot: BotHarness,
) -> None:
    await make_organiser(bot, ORGANISER)
    organiser = bot.user(ORGANISER, "ar")
    organiser.upload_document("notes.xlsx", b"PK\x03\x04 this is not really a workbook", XLSX)
    refusal = await organiser.reply(WAIT)
    assert refusal.content
    assert any("\u0600" <= ch <= "\u06ff" for ch in refusal.content), "refused in Arabic"
    async with bot.db.unit_of_work() as uow:
        assert list(await uow.session.scalars(select(Survey.id))) == []
