"""Encryption at rest of free-text fields (SPEC §7): descriptions, notes, contact details.

Stored format (one text column):

- ``f1:<Fernet token>``: encrypted with a key derived from ``DATA_KEY``;
- ``p:<text>``: plain text, written when no ``DATA_KEY`` is configured.

``DATA_KEY`` holds one key, or several separated by commas: the first encrypts, all of them
decrypt (``MultiFernet``), so a new key can be put first while old values are re-encrypted by
``python -m bot rotate-key``. Each key is either a Fernet key (32 url-safe base64 bytes, e.g.
from ``Fernet.generate_key()``) used as it is, or any other passphrase, from which a Fernet key
is derived with HKDF-SHA256 (fixed salt ``hiwar-data-key-v1``). Use at least 32 random
characters for a passphrase; a key cannot contain a comma.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEALED_PREFIX = "f1:"
PLAIN_PREFIX = "p:"
_HKDF_SALT = b"hiwar-data-key-v1"
_HKDF_INFO = b"hiwar field encryption"


class UnreadableField(Exception):
    """An encrypted value none of the configured keys can open (wrong or missing DATA_KEY)."""


def fernet_key_from(secret: str) -> bytes:
    """The Fernet key for one configured key: itself if it is one, else derived by HKDF."""
    candidate = secret.strip().encode()
    try:
        if len(base64.urlsafe_b64decode(candidate)) == 32 and len(candidate) == 44:
            return candidate
    except (binascii.Error, ValueError):
        pass
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO).derive(
        candidate
    )
    return base64.urlsafe_b64encode(derived)


def split_keys(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


class FieldCipher:
    """Seals and opens text fields; without keys it stores plain text (marked ``p:``)."""

    def __init__(self, keys: Sequence[str] = ()) -> None:
        self._fernet = (
            MultiFernet([Fernet(fernet_key_from(key)) for key in keys]) if keys else None
        )

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


_ACTIVE = FieldCipher()


def configure(data_key: str | None) -> FieldCipher:
    """Set the process-wide cipher from DATA_KEY (done once at start-up)."""
    global _ACTIVE
    _ACTIVE = FieldCipher.from_setting(data_key)
    return _ACTIVE


def active_cipher() -> FieldCipher:
    return _ACTIVE
