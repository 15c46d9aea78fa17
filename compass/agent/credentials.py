"""The key and certificate in the state directory, and when to renew them.

Two files cannot be replaced in one atomic step, so a new pair is first written
next to the old one (`key.pem.next`, `cert.pem.next`), then moved into place,
key first. Whatever moment a crash happens at, `load` finds a matching pair: the
old one, the new one, or the new key with `cert.pem.next` still waiting, which
it moves into place.
"""

from __future__ import annotations

import json
import os
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from compass.agent.connector import Issued
from compass.agent.state import atomic_write

__all__ = ["Credentials", "load_credentials", "store_credentials"]

KEY, CERT, CA, URLS = "key.pem", "cert.pem", "ca.pem", "urls.json"
NEXT = ".next"


@dataclass(frozen=True)
class Credentials:
    directory: Path
    certificate: x509.Certificate
    director_url: str
    secured_connector_url: str
    obtained_at: datetime

    @property
    def expires_at(self) -> datetime:
        return self.certificate.not_valid_after_utc

    @property
    def serial(self) -> str:
        return format(self.certificate.serial_number, "x")

    def renewal_due(self, now: datetime, fraction: float) -> bool:
        """Less than `fraction` of the lifetime left. The lifetime counts from
        when we received the certificate, not from its notBefore, which servers
        backdate for clock skew (that would make short-lived certificates due at
        once, again and again)."""
        start = max(self.certificate.not_valid_before_utc, self.obtained_at)
        lifetime = (self.expires_at - start).total_seconds()
        return (self.expires_at - now).total_seconds() < fraction * lifetime

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts only the Compass CA and presents our certificate."""
        context = ssl.create_default_context(cafile=str(self.directory / CA))
        context.load_cert_chain(self.directory / CERT, self.directory / KEY)
        return context


def _key_matches(key_path: Path, cert_path: Path) -> x509.Certificate | None:
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError, TypeError):
        return None
    return certificate if certificate.public_key() == key.public_key() else None


def _finish_interrupted_swap(directory: Path) -> None:
    key, cert = directory / KEY, directory / CERT
    next_key, next_cert = directory / (KEY + NEXT), directory / (CERT + NEXT)
    if next_key.exists() and next_cert.exists() and _key_matches(next_key, next_cert):
        os.replace(next_key, key)
    if next_cert.exists() and _key_matches(key, next_cert):
        os.replace(next_cert, cert)
    for leftover in (next_key, next_cert):
        leftover.unlink(missing_ok=True)


def load_credentials(directory: Path) -> Credentials | None:
    """The stored pair, or None when there is none or it does not fit together."""
    _finish_interrupted_swap(directory)
    certificate = _key_matches(directory / KEY, directory / CERT)
    if certificate is None or not (directory / CA).is_file():
        return None
    try:
        urls = json.loads((directory / URLS).read_text())
        director, secured = urls["directorURL"], urls["certificateSecuredConnectorURL"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    obtained = datetime.fromtimestamp((directory / CERT).stat().st_mtime, UTC)
    return Credentials(directory, certificate, director, secured, obtained)


def store_credentials(directory: Path, issued: Issued) -> None:
    """Write the new pair without a moment when none fits (see the module doc)."""
    atomic_write(directory / (KEY + NEXT), issued.key_pem, mode=0o600)
    atomic_write(directory / (CERT + NEXT), issued.chain_pem)
    atomic_write(directory / CA, issued.ca_pem)
    urls = {
        "directorURL": issued.director_url,
        "certificateSecuredConnectorURL": issued.secured_connector_url,
    }
    atomic_write(directory / URLS, json.dumps(urls, indent=2, sort_keys=True).encode() + b"\n")
    os.replace(directory / (KEY + NEXT), directory / KEY)
    os.replace(directory / (CERT + NEXT), directory / CERT)
