"""DATA_KEY must be a random key (issue 15): weak and malformed values are refused in one
clear line; `new-key` makes one; a wrong old key during rotation changes nothing."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from bot.__main__ import main
from bot.commands import rotate_key
from bot.config import ConfigError, load_settings
from storage.database import Database
from storage.sealing import FieldCipher, configure, is_random_key
from tests.support.databases import fresh_database_url


@pytest.mark.parametrize(
    "value", ["Mosul2025", "short", "a long passphrase that is not a random key at all!", "%%%"]
)
def test_a_weak_or_malformed_data_key_is_refused_in_one_line(value: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({"DATA_KEY": value}, env_file=None)
    message = str(refused.value)
    assert "\n" not in message and "python -m bot new-key" in message


def test_new_key_prints_a_key_that_is_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new-key"]) == 0
    key = capsys.readouterr().out.strip()
    assert is_random_key(key)
    settings = load_settings({"DATA_KEY": key}, env_file=None)
    assert settings.data_key is not None and settings.data_key.reveal() == key


async def test_a_wrong_old_key_during_rotation_changes_nothing(
    tmp_path: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    url = await fresh_database_url("sqlite", tmp_path)  # type: ignore[arg-type]
    from storage.migrate import upgrade_database

    database = Database(url)
    await upgrade_database(database)
    real, wrong, new = (Fernet.generate_key().decode() for _ in range(3))
    sealed = FieldCipher([real]).seal("Plaintext-marker-rotation")
    configure(real)
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            text(
                "INSERT INTO surveys (id, form_id, title_en, title_ar, status, definition,"
                " created_at) VALUES (1, 'f', 't', 't', 'open', '{}', '2026-01-01')"
            )
        )
        await uow.session.execute(
            text(
                "INSERT INTO survey_responses (id, survey_id, user_id, response_uid, started_at,"
                " revisions) VALUES (1, 1, NULL, 'r1', '2026-01-01', 0)"
            )
        )
        await uow.session.execute(
            text("INSERT INTO survey_answers (response_id, name, value) VALUES (1, 'q', :v)"),
            {"v": sealed},
        )
        await uow.commit()
    settings = load_settings({"DATA_KEY": wrong, "DATABASE_URL": url}, env_file=None)
    code = await rotate_key.run(settings, argparse.Namespace(new_key=new, batch=1))
    out = capsys.readouterr().out.strip()
    assert code == 1 and "\n" not in out and "nothing was changed" in out
    async with database.unit_of_work() as uow:
        stored = await uow.session.scalar(text("SELECT value FROM survey_answers"))
    assert stored == sealed  # untouched
    settings = load_settings({"DATA_KEY": real, "DATABASE_URL": url}, env_file=None)
    assert await rotate_key.run(settings, argparse.Namespace(new_key=new, batch=1)) == 0
    async with database.unit_of_work() as uow:
        stored = await uow.session.scalar(text("SELECT value FROM survey_answers"))
    assert FieldCipher([new]).open(stored) == "Plaintext-marker-rotation"
    await database.dispose()
    configure(None)


@pytest.mark.parametrize("new_key", ["Mosul2025", "%%%not-base64%%%", "a,b"])
def test_rotation_to_a_weak_or_malformed_new_key_is_refused_in_one_line_and_changes_nothing(
    tmp_path: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    new_key: str,
) -> None:
    database = f"{tmp_path}/keys.db"
    real = Fernet.generate_key().decode()
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    monkeypatch.setenv("DATA_KEY", real)
    monkeypatch.setenv("NEW_DATA_KEY", new_key)
    monkeypatch.setenv("BOT_TOKEN", "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11")
    assert main(["rotate-key"]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "NEW_DATA_KEY" in error
    assert not Path(database).exists()  # refused before the database was opened


def test_a_weak_first_key_before_an_old_one_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({"DATA_KEY": f"Mosul2025,{Fernet.generate_key().decode()}"}, env_file=None)
    assert "\n" not in str(refused.value) and "new-key" in str(refused.value)
