"""The mTLS listener's own certificate, issued by our CA and renewed in place.

It lives in the data directory next to the CA (`server.crt`, `server.key`) and is
reissued when it is missing, covers other names than configured, was issued by
another CA, or has less than a third of its lifetime left.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from compass.pki.authority import CertificateAuthority, Clock
from compass.pki.files import file_lock, write_key_and_certificate

__all__ = [
    "DEFAULT_SERVER_LIFETIME",
    "DEFAULT_SERVER_NAMES",
    "SERVER_CERT_FILE",
    "SERVER_KEY_FILE",
    "ServerCertificate",
    "server_names",
]

SERVER_CERT_FILE = "server.crt"
SERVER_KEY_FILE = "server.key"
DEFAULT_SERVER_LIFETIME = timedelta(days=90)
DEFAULT_SERVER_NAMES = ("localhost", "127.0.0.1")
_CLIENT_CERTIFICATE_MODES = {
    "none": ssl.CERT_NONE,
    "optional": ssl.CERT_OPTIONAL,
    "required": ssl.CERT_REQUIRED,
}


def _utc_now() -> datetime:
    return datetime.now(UTC)


def server_names(extra_sans: Sequence[str] = ()) -> list[str]:
    """localhost and 127.0.0.1 first, then the configured names, without repeats."""
    names: list[str] = []
    seen: set[str] = set()
    for name in (*DEFAULT_SERVER_NAMES, *extra_sans):
        name = name.strip()
        key = _normalise(name)
        if name and key not in seen:
            seen.add(key)
            names.append(name)
    return names


class ServerCertificate:
    """Keeps `server.crt` (leaf then CA) and `server.key` (0600) current."""

    def __init__(
        self,
        data_dir: Path,
        authority: CertificateAuthority,
        *,
        lifetime: timedelta = DEFAULT_SERVER_LIFETIME,
        clock: Clock = _utc_now,
    ) -> None:
        self.data_dir = data_dir
        self.cert_path = data_dir / SERVER_CERT_FILE
        self.key_path = data_dir / SERVER_KEY_FILE
        self._authority = authority
        self._lifetime = lifetime
        self._clock = clock

    def ensure(self, names: Sequence[str] = ()) -> tuple[Path, Path]:
        """Issue a certificate unless the current one fits; `names` are extra SANs."""
        wanted = server_names(names)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with file_lock(self.data_dir / ".server.lock"):
            if self.needs_renewal() or self.names() != {_normalise(n) for n in wanted}:
                key_pem, cert_pem = self._authority.issue_server_certificate(wanted, self._lifetime)
                chain = cert_pem + self._authority.certificate_pem
                write_key_and_certificate(self.key_path, key_pem, self.cert_path, chain)
        return self.cert_path, self.key_path

    def needs_renewal(self, now: datetime | None = None) -> bool:
        """True when the files are missing, not ours, or in the last third of their life."""
        certificate = self._load()
        if certificate is None:
            return True
        try:
            certificate.verify_directly_issued_by(self._authority.certificate)
        except (ValueError, TypeError, InvalidSignature):
            return True
        moment = now if now is not None else self._clock()
        start, end = certificate.not_valid_before_utc, certificate.not_valid_after_utc
        return moment < start or end - moment < (end - start) / 3

    def names(self) -> set[str]:
        """The names the current certificate covers (normalised); empty when none."""
        certificate = self._load()
        if certificate is None:
            return set()
        try:
            san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        except x509.ExtensionNotFound:
            return set()
        dns = san.value.get_values_for_type(x509.DNSName)
        ips = san.value.get_values_for_type(x509.IPAddress)
        return {_normalise(name) for name in dns} | {str(ip) for ip in ips}

    def ssl_context_for_server(
        self, ca: CertificateAuthority, client_certificates: str = "optional"
    ) -> ssl.SSLContext:
        """A TLS 1.2+ server context asking for client certificates signed by `ca`."""
        try:
            verify_mode = _CLIENT_CERTIFICATE_MODES[client_certificates]
        except KeyError:
            choices = ", ".join(_CLIENT_CERTIFICATE_MODES)
            raise ValueError(f"client_certificates must be one of {choices}") from None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_path, self.key_path)
        context.load_verify_locations(cadata=ca.certificate_pem.decode("ascii"))
        context.verify_mode = verify_mode
        return context

    def reload(self, context: ssl.SSLContext) -> None:
        """Put the current files into a live context; later handshakes use them."""
        context.load_cert_chain(self.cert_path, self.key_path)

    def _load(self) -> x509.Certificate | None:
        try:
            certificate = x509.load_pem_x509_certificate(self.cert_path.read_bytes())
            key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
        except (OSError, ValueError, TypeError):
            return None
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        der = serialization.Encoding.DER
        if certificate.public_key().public_bytes(der, spki) != key.public_key().public_bytes(
            der, spki
        ):
            return None
        return certificate


def _normalise(name: str) -> str:
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name.lower().rstrip(".")
