"""Configuration (SPEC §1.1): defaults, one clear line per bad value, the token never shown."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.logging_setup import RedactSecrets

TOKEN = "123456:AAExampleSecretTokenValue"
REPO = Path(__file__).resolve().parents[2]


def test_defaults_when_nothing_is_set(tmp_path: Path) -> None:
    settings = load_settings({}, env_file=tmp_path / "missing.env")
    assert settings.database_url == "sqlite+aiosqlite:///data/hiwar.db"
    assert settings.timezone.key == "Asia/Baghdad"
    assert settings.default_language == "ar"
    assert settings.moderator_chat_id is None
    assert settings.admin_ids == frozenset()
    assert not settings.webhook_mode
    assert settings.port == 8080
    assert settings.data_key is None


def test_env_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"BOT_TOKEN={TOKEN}\nADMIN_IDS=1, 2,3\nDEFAULT_LANGUAGE=en\n")
    settings = load_settings({"DEFAULT_LANGUAGE": "ar"}, env_file=env_file)
    assert settings.require_token() == TOKEN
    assert settings.admin_ids == frozenset({1, 2, 3})
    assert settings.default_language == "ar"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BOT_TOKEN", "not-a-token"),
        ("ADMIN_IDS", "12,abc"),
        ("MODERATOR_CHAT_ID", "group"),
        ("TIMEZONE", "Mars/Olympus"),
        ("DEFAULT_LANGUAGE", "fr"),
        ("PORT", "http"),
        ("PORT", "70000"),
        ("DATABASE_URL", "mysql://x"),
        ("TELEGRAM_API_URL", "ftp://x"),
        ("WEBHOOK_URL", "not a url"),
    ],
)
def test_bad_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({variable: value}, env_file=None)
    message = str(raised.value)
    assert variable in message.split()[0] or message.startswith(variable)
    assert "\n" not in message


def test_webhook_needs_a_strong_secret() -> None:
    with pytest.raises(ConfigError, match=r"^WEBHOOK_SECRET"):
        load_settings(
            {"WEBHOOK_URL": "https://x.org/tg", "WEBHOOK_SECRET": "short"}, env_file=None
        )
    settings = load_settings(
        {"WEBHOOK_URL": "https://x.org/tg", "WEBHOOK_SECRET": "s" * 32}, env_file=None
    )
    assert settings.webhook_mode


def test_token_never_appears_in_repr_or_str() -> None:
    settings = load_settings(
        {"BOT_TOKEN": TOKEN, "WEBHOOK_URL": "https://x.org/tg", "WEBHOOK_SECRET": "w" * 32},
        env_file=None,
    )
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings)
    assert "w" * 32 not in repr(settings)


def test_log_filter_redacts_the_token() -> None:
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, "POST https://x/bot%s/getMe", (TOKEN,), None
    )
    RedactSecrets([TOKEN]).filter(record)
    assert TOKEN not in record.getMessage()
    assert "[redacted]" in record.getMessage()


def test_starting_without_a_token_stops_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "DATABASE_URL"}}
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "BOT_TOKEN" in lines[0]


def test_malformed_setting_stops_with_one_line_naming_it(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO), BOT_TOKEN=TOKEN, TIMEZONE="Nowhere/Land")
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "TIMEZONE" in result.stderr
    assert TOKEN not in result.stderr
