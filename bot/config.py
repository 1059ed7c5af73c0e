"""Typed settings read from the environment and an optional `.env` file (SPEC §1.1).

A missing or malformed value raises `ConfigError` whose message is one line naming the
variable; the bot token is kept in a `Secret` so it never shows in logs or `repr`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from storage.sealing import WeakKey, check_keys, split_keys

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/hiwar.db"
SUPPORTED_LANGUAGES = ("ar", "en")
_TOKEN_SHAPE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{5,}$")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class Secret:
    """A string that never prints itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    bot_token: Secret | None
    telegram_api_url: str | None
    database_url: str
    admin_ids: frozenset[int]
    moderator_chat_id: int | None
    timezone: ZoneInfo
    default_language: str
    webhook_url: str | None
    webhook_secret: Secret | None
    port: int
    data_key: Secret | None
    extra: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def webhook_mode(self) -> bool:
        return self.webhook_url is not None

    def require_token(self) -> str:
        if self.bot_token is None:
            raise ConfigError("BOT_TOKEN is required: set it to the token BotFather gave you")
        return self.bot_token.reveal()


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _parse_int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> Settings:
    """Read settings; the process environment wins over the `.env` file."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)

    def get(name: str) -> str | None:
        return _blank_to_none(values.get(name))

    token = get("BOT_TOKEN")
    if token is not None and not _TOKEN_SHAPE.match(token):
        raise ConfigError(
            "BOT_TOKEN is malformed: expected the form 123456:ABC-DEF... from BotFather"
        )

    api_url = get("TELEGRAM_API_URL")
    if api_url is not None and not re.match(r"^https?://", api_url):
        raise ConfigError(f"TELEGRAM_API_URL must start with http:// or https://, got {api_url!r}")

    database_url = get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ConfigError(
            "DATABASE_URL must be sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db"
        )

    admin_ids: set[int] = set()
    raw_admins = get("ADMIN_IDS")
    if raw_admins:
        for part in raw_admins.split(","):
            part = part.strip()
            if not part:
                continue
            if not re.fullmatch(r"\d{1,20}", part):
                raise ConfigError(
                    f"ADMIN_IDS must be comma-separated Telegram user ids, got {part!r}"
                )
            admin_ids.add(int(part))

    moderator_chat_id = None
    raw_chat = get("MODERATOR_CHAT_ID")
    if raw_chat is not None:
        moderator_chat_id = _parse_int("MODERATOR_CHAT_ID", raw_chat)

    tz_name = get("TIMEZONE") or "Asia/Baghdad"
    try:
        timezone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"TIMEZONE is not a known time zone: {tz_name!r}") from None

    default_language = (get("DEFAULT_LANGUAGE") or "ar").lower()
    if default_language not in SUPPORTED_LANGUAGES:
        raise ConfigError(f"DEFAULT_LANGUAGE must be one of {', '.join(SUPPORTED_LANGUAGES)}")

    webhook_url = get("WEBHOOK_URL")
    webhook_secret_raw = get("WEBHOOK_SECRET")
    if webhook_url is not None:
        if not webhook_url.startswith("https://") and not webhook_url.startswith("http://"):
            raise ConfigError("WEBHOOK_URL must be an http(s) URL")
        if webhook_secret_raw is None:
            raise ConfigError("WEBHOOK_SECRET is required when WEBHOOK_URL is set")
        if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", webhook_secret_raw):
            raise ConfigError("WEBHOOK_SECRET must be 16-256 characters of A-Z, a-z, 0-9, _ and -")

    port = _parse_int("PORT", get("PORT") or "8080")
    if not 1 <= port <= 65535:
        raise ConfigError(f"PORT must be between 1 and 65535, got {port}")

    data_key = get("DATA_KEY")
    try:
        check_keys(split_keys(data_key))
    except WeakKey as error:
        raise ConfigError(str(error)) from None
    return Settings(
        bot_token=Secret(token) if token else None,
        telegram_api_url=api_url,
        database_url=database_url,
        admin_ids=frozenset(admin_ids),
        moderator_chat_id=moderator_chat_id,
        timezone=timezone,
        default_language=default_language,
        webhook_url=webhook_url,
        webhook_secret=Secret(webhook_secret_raw) if webhook_secret_raw else None,
        port=port,
        data_key=Secret(data_key) if data_key else None,
        extra={k: v for k, v in values.items() if k.startswith("HIWAR_")},
    )
