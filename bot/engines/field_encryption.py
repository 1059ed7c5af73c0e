"""Encryption at rest of free-text fields (SPEC §7): descriptions, notes, contact details.

Stored format (one text column):

- ``f1:<Fernet token>``: encrypted with the first key of ``DATA_KEY``;
- ``p:<text>``: plain text, written when no ``DATA_KEY`` is configured.

The cipher itself lives in `storage.sealing` (the column types of the storage layer use the
same process-wide cipher); this module is the face services use.
"""

from __future__ import annotations

from storage.sealing import (
    PLAIN_PREFIX,
    SEALED_PREFIX,
    FieldCipher,
    UnreadableField,
    WeakKey,
    active_cipher,
    check_keys,
    configure,
    fernet_key_from,
    is_random_key,
    new_key,
    split_keys,
)

__all__ = [
    "PLAIN_PREFIX",
    "SEALED_PREFIX",
    "FieldCipher",
    "UnreadableField",
    "WeakKey",
    "active_cipher",
    "check_keys",
    "configure",
    "fernet_key_from",
    "is_random_key",
    "new_key",
    "split_keys",
]
