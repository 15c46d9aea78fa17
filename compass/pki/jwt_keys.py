"""The server's own JWT signing key (Ed25519), created on first start."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from compass.pki.files import file_lock, write_private_file

__all__ = ["SigningKeyError", "load_or_create_signing_key", "load_signing_key"]


class SigningKeyError(ValueError):
    """The key file is missing, unreadable or not an Ed25519 private key."""


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """Load only: commands other than `compass serve` must never create a key."""
    try:
        pem = path.read_bytes()
    except OSError as error:
        raise SigningKeyError(f"cannot read signing key {path}: {error.strerror}") from error
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (TypeError, ValueError) as error:
        raise SigningKeyError(f"{path} is not an unencrypted PEM private key") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} does not hold an Ed25519 private key")
    return key


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    """Processes starting together on one data directory end with the same key."""
    if path.exists():
        return load_signing_key(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(path.with_name(f".{path.name}.lock")):
        if not path.exists():
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            write_private_file(path, pem)
    return load_signing_key(path)
