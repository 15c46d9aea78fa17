"""Encryption at rest for secrets the server must read back (webhook signing
secrets and credentials, API credentials of bundle instance auths).

Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) with one key kept
in the data directory (`secrets.key`, mode 0600, created by the first process
under a file lock) or given by setting. Replicas must share it, like the CA.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from compass.pki.files import file_lock, write_private_file

__all__ = ["SecretBox", "SecretBoxError", "load_or_create_secret_box"]


class SecretBoxError(ValueError):
    """A stored secret does not decrypt: another key, or a damaged value."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, value: Any) -> str:
        """Any JSON value, encrypted, as text for a column."""
        return self._fernet.encrypt(json.dumps(value).encode()).decode()

    def open(self, sealed: str | None) -> Any:
        if sealed is None:
            return None
        try:
            return json.loads(self._fernet.decrypt(sealed.encode()))
        except InvalidToken as error:
            raise SecretBoxError("a stored secret does not decrypt with this key") from error


def load_or_create_secret_box(path: Path, key: str | None = None) -> SecretBox:
    """`key` (a Fernet key, from the settings) wins over the file."""
    if key:
        return SecretBox(key.encode())
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with file_lock(path.with_name(f".{path.name}.lock")):
            if not path.exists():
                write_private_file(path, Fernet.generate_key())
    return SecretBox(path.read_bytes().strip())
