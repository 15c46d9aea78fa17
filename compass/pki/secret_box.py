"""Encryption at rest for secrets the server must read back: webhook signing
secrets and credentials, fetch-request credentials, bundles' default instance
auths, API credentials of bundle instance auths.

Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) with keys kept in
the data directory (`secrets.key`, mode 0600, created by the first process
under a file lock) or given by setting. Replicas must share them, like the CA.
Several keys (comma-separated in the setting, one a line in the file) rotate
the key: the first seals, every one opens.

`SealedJSON` is the column type of credentials kept as JSON: the engine's box
seals on write and opens on read; values written before sealing was
introduced (plain JSON) still read as they are and are sealed when rewritten.
"""

from __future__ import annotations

import json
import weakref
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import Field

from compass.pki.files import file_lock, write_private_file

__all__ = [
    "SealedJSON",
    "SecretBox",
    "SecretBoxError",
    "load_or_create_secret_box",
    "seal_columns_with",
    "sealed_json_field",
]


class SecretBoxError(ValueError):
    """A stored secret does not decrypt (another key, or a damaged value), or
    a key is not a Fernet key."""


def _fernet(key: bytes) -> Fernet:
    try:
        return Fernet(key)
    except ValueError as error:
        # The message names no part of the key.
        raise SecretBoxError(
            "a secrets key is not a Fernet key (32 url-safe base64-encoded bytes)"
        ) from error


class SecretBox:
    """`keys`: the sealing key first, then older keys that still open."""

    def __init__(self, *keys: bytes) -> None:
        if not keys:
            raise SecretBoxError("a secret box needs at least one key")
        self._fernet = MultiFernet([_fernet(key) for key in keys])

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

    def reseal(self, sealed: str) -> str:
        """The same secret sealed with the first key (for a rotation)."""
        try:
            return self._fernet.rotate(sealed.encode()).decode()
        except InvalidToken as error:
            raise SecretBoxError("a stored secret does not decrypt with this key") from error


def _keys(text: str, separator: str) -> list[bytes]:
    return [part.strip().encode() for part in text.split(separator) if part.strip()]


def load_or_create_secret_box(path: Path, key: str | None = None) -> SecretBox:
    """`key` (Fernet keys, from the settings) wins over the file."""
    if key:
        return SecretBox(*_keys(key, ","))
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with file_lock(path.with_name(f".{path.name}.lock")):
            if not path.exists():
                write_private_file(path, Fernet.generate_key())
    return SecretBox(*_keys(path.read_text(), "\n"))


# Column types see only the dialect, never the session: each engine's dialect
# is its own object, so the box travels with the engine the app built.
_BOXES: weakref.WeakKeyDictionary[sa.Dialect, SecretBox] = weakref.WeakKeyDictionary()


def seal_columns_with(engine: AsyncEngine, box: SecretBox) -> None:
    """`SealedJSON` columns of `engine` are sealed and opened with `box`."""
    _BOXES[engine.sync_engine.dialect] = box


def _box(dialect: sa.Dialect) -> SecretBox:
    box = _BOXES.get(dialect)
    if box is None:
        raise SecretBoxError("this database engine has no secrets key for credential columns")
    return box


class SealedJSON(sa.TypeDecorator[Any]):
    """A JSON value sealed with the engine's secret box."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        return None if value is None else _box(dialect).seal(value)

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        try:
            # Plain JSON, written before credentials were sealed. A Fernet
            # token is never valid JSON, so the two cannot be confused.
            return json.loads(value)
        except ValueError:
            return _box(dialect).open(value)


def sealed_json_field() -> Any:
    """A nullable credentials column of a table model."""
    return Field(default=None, sa_column=sa.Column(SealedJSON(), nullable=True))
