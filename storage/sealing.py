"""Sealing at rest (SPEC §7): what a leaked database file, disk or backup must not reveal.

`DATA_KEY` holds one random key (``python -m bot new-key``), or several separated by commas:
the first seals, all of them open (``MultiFernet``), so a new key can be put first while
``python -m bot rotate-key`` re-seals old values. Sealing is authenticated encryption
(Fernet: AES-128-CBC with HMAC-SHA256) from `cryptography`.

Column types used by the models:

- `SealedText`: a text column holding ``f1:<token>`` (``p:<text>`` with no key);
- `SealedJSON`: a JSON column holding ``{"sealed": "f1:<token>"}`` with a key (the value as
  it is without one);
- `SealedKey`: a de-duplication key. Equal keys give equal stored values (so unique
  constraints and look-ups work), a ``prefix:`` search still matches, yet the stored value
  names no report or member: every segment after the first is a keyed hash, followed by the
  whole key sealed deterministically (AES-SIV) so it can be read back.

The active cipher is process-wide (`configure`, done at start-up from `DATA_KEY`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import JSON, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

SEALED_PREFIX = "f1:"
PLAIN_PREFIX = "p:"
SEALED_JSON_FIELD = "sealed"
MAKE_A_KEY = "make one with: python -m bot new-key"
_HKDF_SALT = b"hiwar-data-key-v1"
_HKDF_INFO = b"hiwar field encryption"
_KEY_INFO = b"hiwar dedupe keys v1"
_KEY_SEAL_MARK = "~"
_HASH_CHARS = 12
_PLAIN_HEAD = re.compile(r"[a-z][a-z_-]*")


class UnreadableField(Exception):
    """A sealed value none of the configured keys can open (wrong or missing DATA_KEY)."""


class WeakKey(ValueError):
    """DATA_KEY holds something that is not a random key (a passphrase, a short value)."""


def is_random_key(secret: str) -> bool:
    """A Fernet key: 32 random bytes, url-safe base64 (44 characters)."""
    candidate = secret.strip().encode()
    if len(candidate) != 44:
        return False
    try:
        return len(base64.urlsafe_b64decode(candidate)) == 32
    except (binascii.Error, ValueError):
        return False


def new_key() -> str:
    return Fernet.generate_key().decode()


def check_keys(keys: Sequence[str]) -> None:
    """Refuse a first (sealing) key that is not a random key. Later keys only open old
    values; a passphrase is accepted there so a database sealed with one can be rotated."""
    if keys and not is_random_key(keys[0]):
        raise WeakKey(
            "DATA_KEY must be a random key (44 characters of url-safe base64), not a "
            f"passphrase or a short value; {MAKE_A_KEY}"
        )


def fernet_key_from(secret: str) -> bytes:
    """The Fernet key for one configured key: itself if it is one, else (a legacy
    passphrase, accepted only as an old key) derived by HKDF."""
    candidate = secret.strip().encode()
    if is_random_key(secret):
        return candidate
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO).derive(
        candidate
    )
    return base64.urlsafe_b64encode(derived)


def split_keys(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _KeyCoder:
    """Keyed hashes and deterministic sealing of de-duplication keys for one key."""

    def __init__(self, fernet_key: bytes) -> None:
        material = HKDF(algorithm=hashes.SHA256(), length=96, salt=_HKDF_SALT, info=_KEY_INFO)
        derived = material.derive(fernet_key)
        self._mac = derived[:32]
        self._siv = AESSIV(derived[32:])

    def digest(self, text: str) -> str:
        return _b64(hmac.new(self._mac, text.encode(), hashlib.sha256).digest())[:_HASH_CHARS]

    def seal(self, text: str) -> str:
        return _b64(self._siv.encrypt(text.encode(), None))

    def open(self, token: str) -> str | None:
        try:
            return self._siv.decrypt(_unb64(token), None).decode()
        except (InvalidTag, ValueError, binascii.Error):
            return None


class FieldCipher:
    """Seals and opens values; without keys it stores plain text (marked ``p:``)."""

    def __init__(self, keys: Sequence[str] = ()) -> None:
        fernet_keys = [fernet_key_from(key) for key in keys]
        self._fernet = MultiFernet([Fernet(key) for key in fernet_keys]) if keys else None
        self._coders = [_KeyCoder(key) for key in fernet_keys]

    @classmethod
    def from_setting(cls, data_key: str | None) -> FieldCipher:
        return cls(split_keys(data_key))

    @property
    def encrypts(self) -> bool:
        return self._fernet is not None

    def seal(self, text: str) -> str:
        if self._fernet is None:
            return PLAIN_PREFIX + text
        return SEALED_PREFIX + self._fernet.encrypt(text.encode()).decode()

    def open(self, stored: str) -> str:
        if stored.startswith(PLAIN_PREFIX):
            return stored[len(PLAIN_PREFIX) :]
        if stored.startswith(SEALED_PREFIX):
            if self._fernet is None:
                raise UnreadableField("encrypted value but no DATA_KEY is configured")
            try:
                return self._fernet.decrypt(stored[len(SEALED_PREFIX) :].encode()).decode()
            except InvalidToken:
                raise UnreadableField("no configured key opens this value") from None
        return stored  # written before this format existed: treat as plain text

    def open_optional(self, stored: str | None) -> str | None:
        return None if stored is None else self.open(stored)

    def seal_optional(self, text: str | None) -> str | None:
        return None if text is None else self.seal(text)

    def reseal(self, stored: str) -> str:
        """The value encrypted with the first key (plain values get encrypted too)."""
        if self._fernet is None:
            return stored
        if stored.startswith(SEALED_PREFIX):
            try:
                token = self._fernet.rotate(stored[len(SEALED_PREFIX) :].encode())
            except InvalidToken:
                raise UnreadableField("no configured key opens this value") from None
            return SEALED_PREFIX + token.decode()
        return self.seal(self.open(stored))

    # -- JSON values -------------------------------------------------------------------
    def seal_json(self, value: Any) -> Any:
        if self._fernet is None or value is None:
            return value
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return {SEALED_JSON_FIELD: self.seal(text)}

    def open_json(self, stored: Any) -> Any:
        if isinstance(stored, dict) and set(stored) == {SEALED_JSON_FIELD}:
            return json.loads(self.open(stored[SEALED_JSON_FIELD]))
        return stored

    # -- de-duplication keys -------------------------------------------------------------
    def seal_key(self, key: str) -> str:
        """The stored form of a de-duplication key (or of a ``prefix:`` to search for)."""
        if not self._coders or _KEY_SEAL_MARK in key:
            return key
        coder = self._coders[0]
        segments = key.split(":")
        prefix_only = key.endswith(":")
        if prefix_only:
            segments = segments[:-1]
        if _PLAIN_HEAD.fullmatch(segments[0]):
            parts = [segments[0]]
            start = 1
        else:
            parts, start = [], 0
        parts += [coder.digest(":".join(segments[: i + 1])) for i in range(start, len(segments))]
        stored = ":".join(parts)
        if prefix_only:
            return stored + ":"
        sealed = f"{stored}{_KEY_SEAL_MARK}{coder.seal(key)}"
        return sealed if len(sealed) <= 200 else stored

    def open_key(self, stored: str) -> str:
        head, mark, token = stored.rpartition(_KEY_SEAL_MARK)
        if not mark or not head:
            return stored
        for coder in self._coders:
            opened = coder.open(token)
            if opened is not None:
                return opened
        raise UnreadableField("no configured key opens this de-duplication key")


_ACTIVE = FieldCipher()


def configure(data_key: str | None) -> FieldCipher:
    """Set the process-wide cipher from DATA_KEY (done once at start-up)."""
    return use(FieldCipher.from_setting(data_key))


def use(cipher: FieldCipher) -> FieldCipher:
    global _ACTIVE
    _ACTIVE = cipher
    return _ACTIVE


def active_cipher() -> FieldCipher:
    return _ACTIVE


class SealedText(TypeDecorator[str]):
    """A text column sealed with the active cipher."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else _ACTIVE.seal(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else _ACTIVE.open(str(value))


class SealedJSON(TypeDecorator[Any]):
    """A JSON column whose value is sealed whole with the active cipher."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return _ACTIVE.seal_json(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return _ACTIVE.open_json(value)


class SealedKey(TypeDecorator[str]):
    """A de-duplication key column (see the module docstring)."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else _ACTIVE.seal_key(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else _ACTIVE.open_key(str(value))
