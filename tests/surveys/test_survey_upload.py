"""An organiser sends an XLSForm to the bot in chat; it is downloaded, checked, previewed and
published (SPEC §4.2); a broken workbook is refused with sheet, row and reason."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import Survey
from tests.support.harness import BotHarness
from tests.surveys.test_survey_steps import NEEDS, WAIT, label, make_organiser, text

ORGANISER = 93_001
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLS = "application/vnd.ms-excel"


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


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_real_xls_workbooks_upload_and_a_refused_one_names_pyxform_sheet_and_row(
    bot: BotHarness,
) -> None:
    from tests.surveys.test_real_xlsforms import SHARED

    waterpoints = SHARED / "23_hot_waterpoints.xls"
    health = SHARED / "22_hot_health.xls"
    if not waterpoints.is_file() or not health.is_file():
        pytest.skip(f"real XLSForms not found at {SHARED}")
    await make_organiser(bot, ORGANISER)
    organiser = bot.user(ORGANISER, "ar")
    organiser.upload_document(waterpoints.name, waterpoints.read_bytes(), XLS)
    imported = await organiser.reply(WAIT)
    async with bot.db.unit_of_work() as uow:
        survey = (await uow.session.scalars(select(Survey))).one()
        survey_id, title_en = survey.id, survey.title_en
    assert imported.content.startswith(
        text("ar", "surveys.admin.imported", id=survey_id, questions=0)[:10]
    )
    assert title_en == "Waterpoints"
    await bot.idle()
    organiser.upload_document(health.name, health.read_bytes(), XLS)
    refusal = await organiser.reply(WAIT)
    while "pyxform" not in refusal.content:
        refusal = await organiser.reply(WAIT)
    assert "List name not in choices sheet: yes_no" in refusal.content
    assert "الصف \u2068٨\u2069" in refusal.content and "survey" in refusal.content
