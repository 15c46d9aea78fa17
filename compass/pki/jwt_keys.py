"""The server's own JWT signing key (Ed25519), created on first start."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from compass.pki.files import write_private_file

__all__ = ["load_or_create_signing_key", "load_signing_key"]


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    if path.exists():
        return load_signing_key(path)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        write_private_file(path, pem)
    except FileExistsError:
        pass
    return load_signing_key(path)
