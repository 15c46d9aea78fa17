"""The listener's certificate: issued for the configured names, renewed before it
runs out, and good for a real mutual-TLS handshake on 127.0.0.1."""

from __future__ import annotations

import socket
import ssl
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from compass.config import Settings
from compass.pki.authority import CertificateAuthority
from compass.pki.policy import subject_from_string
from compass.pki.server_tls import ServerCertificate, server_names

START = datetime(2030, 3, 1, 8, 0, 0, tzinfo=UTC)
TIMEOUT = 10.0


class FakeClock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def load_leaf(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def san_names(certificate: x509.Certificate) -> tuple[list[str], list[str]]:
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return (
        san.get_values_for_type(x509.DNSName),
        [str(ip) for ip in san.get_values_for_type(x509.IPAddress)],
    )


def test_names_always_cover_localhost_without_repeats() -> None:
    assert server_names() == ["localhost", "127.0.0.1"]
    assert server_names(["compass.example", "LOCALHOST", "10.0.0.5", "127.0.0.1"]) == [
        "localhost",
        "127.0.0.1",
        "compass.example",
        "10.0.0.5",
    ]


def test_ensure_issues_a_certificate_for_the_configured_names(tmp_path: Path) -> None:
    authority = CertificateAuthority.load_or_create(tmp_path)
    server = ServerCertificate(tmp_path, authority)

    cert_path, key_path = server.ensure(["compass.example", "10.0.0.5"])

    assert (cert_path, key_path) == (tmp_path / "server.crt", tmp_path / "server.key")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    chain = x509.load_pem_x509_certificates(cert_path.read_bytes())
    assert [c.subject for c in chain] == [chain[0].subject, authority.certificate.subject]
    leaf = chain[0]
    assert chain[1] == authority.certificate
    assert san_names(leaf) == (["localhost", "compass.example"], ["127.0.0.1", "10.0.0.5"])
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "localhost"
    assert (
        ExtendedKeyUsageOID.SERVER_AUTH
        in leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    )
    leaf.verify_directly_issued_by(authority.certificate)
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert leaf.public_key() == key.public_key()
    lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    assert lifetime == timedelta(days=90, minutes=1)
    assert not server.needs_renewal()


def test_ensure_keeps_a_fitting_certificate_and_reissues_when_names_change(
    tmp_path: Path,
) -> None:
    authority = CertificateAuthority.load_or_create(tmp_path)
    server = ServerCertificate(tmp_path, authority)
    server.ensure(["compass.example"])
    first = server.cert_path.read_bytes()

    server.ensure(["COMPASS.example."])
    assert server.cert_path.read_bytes() == first

    server.ensure(["compass.example", "192.168.1.10"])
    second = load_leaf(server.cert_path)
    assert server.cert_path.read_bytes() != first
    assert san_names(second) == (["localhost", "compass.example"], ["127.0.0.1", "192.168.1.10"])

    server.ensure([])
    assert san_names(load_leaf(server.cert_path)) == (["localhost"], ["127.0.0.1"])


def test_the_certificate_is_renewed_in_the_last_third_of_its_life(tmp_path: Path) -> None:
    clock = FakeClock()
    authority = CertificateAuthority.load_or_create(tmp_path, clock=clock)
    server = ServerCertificate(tmp_path, authority, clock=clock)
    server.ensure()
    first = load_leaf(server.cert_path)

    assert not server.needs_renewal(START + timedelta(days=59))
    assert server.needs_renewal(START + timedelta(days=61))
    clock.now = START + timedelta(days=59)
    server.ensure()
    assert load_leaf(server.cert_path).serial_number == first.serial_number

    clock.now = START + timedelta(days=61)
    assert server.needs_renewal()
    server.ensure()
    renewed = load_leaf(server.cert_path)
    assert renewed.serial_number != first.serial_number
    assert renewed.not_valid_after_utc == clock.now + timedelta(days=90)
    assert not server.needs_renewal()


def test_missing_damaged_or_foreign_files_are_replaced(tmp_path: Path) -> None:
    authority = CertificateAuthority.load_or_create(tmp_path / "ca")
    server = ServerCertificate(tmp_path / "ca", authority)
    assert server.needs_renewal()
    server.ensure()

    server.key_path.write_bytes(b"not a key")
    assert server.needs_renewal()
    server.ensure()
    assert not server.needs_renewal()

    other = CertificateAuthority.load_or_create(tmp_path / "other")
    moved = ServerCertificate(tmp_path / "ca", other)
    assert moved.needs_renewal()
    moved.ensure()
    load_leaf(moved.cert_path).verify_directly_issued_by(other.certificate)


def test_settings_take_extra_names_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPASS_TLS_SANS", "compass.example, 10.0.0.5")
    monkeypatch.setenv("COMPASS_CA_CERT", "/etc/compass/ca.pem")
    monkeypatch.setenv("COMPASS_CLIENT_CERTIFICATE_VALIDITY_DAYS", "30")
    settings = Settings()
    assert settings.tls_sans == ["compass.example", "10.0.0.5"]
    assert settings.ca_cert == Path("/etc/compass/ca.pem")
    assert settings.ca_key is None
    assert settings.client_certificate_validity_days == 30
    monkeypatch.setenv("COMPASS_TLS_SANS", '["a.example"]')
    assert Settings().tls_sans == ["a.example"]
    monkeypatch.delenv("COMPASS_TLS_SANS")
    assert Settings().tls_sans == []


@dataclass
class Handshakes:
    peers: list[dict] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)


@contextmanager
def tls_server(context: ssl.SSLContext) -> Iterator[tuple[int, Handshakes]]:
    """Accepts connections on 127.0.0.1, records each client's certificate."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    seen = Handshakes()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connection.settimeout(TIMEOUT)
            try:
                with context.wrap_socket(connection, server_side=True) as tls:
                    seen.peers.append(tls.getpeercert())
                    tls.recv(16)
                    tls.sendall(b"ok")
            except (ssl.SSLError, OSError) as error:
                seen.errors.append(error)
            finally:
                connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], seen
    finally:
        stop.set()
        thread.join(timeout=TIMEOUT)
        listener.close()
    assert not thread.is_alive()


def client_context(authority: CertificateAuthority, cert: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=authority.certificate_pem.decode())
    if cert is not None:
        context.load_cert_chain(cert, cert.with_suffix(".key"))
    return context


def talk(port: int, context: ssl.SSLContext, server_hostname: str = "localhost") -> tuple:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
        with context.wrap_socket(raw, server_hostname=server_hostname) as tls:
            tls.sendall(b"hi")
            reply = tls.recv(16)
            return reply, x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def write_client_certificate(
    authority: CertificateAuthority, directory: Path, common_name: str
) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = subject_from_string(f"O=Org,OU=OrgUnit,L=locality,ST=province,C=DE,CN={common_name}")
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    certificate = authority.sign_client_certificate(csr, subject, timedelta(days=1))
    path = directory / f"{common_name}.crt"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def test_a_real_mutual_tls_handshake_shows_the_client_certificate(tmp_path: Path) -> None:
    authority = CertificateAuthority.load_or_create(tmp_path)
    server = ServerCertificate(tmp_path, authority)
    server.ensure()
    context = server.ssl_context_for_server(authority)
    assert context.verify_mode == ssl.CERT_OPTIONAL
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    client_cert = write_client_certificate(authority, tmp_path, "app-7")

    with tls_server(context) as (port, seen):
        reply, server_leaf = talk(port, client_context(authority, client_cert))
        assert reply == b"ok"
        assert server_leaf == load_leaf(server.cert_path)
        reply, _ = talk(port, client_context(authority, client_cert), "127.0.0.1")
        assert reply == b"ok"
        reply, _ = talk(port, client_context(authority))

    assert reply == b"ok"
    assert seen.errors == []
    assert len(seen.peers) == 3
    subject = dict(pair for rdn in seen.peers[0]["subject"] for pair in rdn)
    assert subject["commonName"] == "app-7"
    assert subject["organizationName"] == "Org"
    assert seen.peers[2] is None  # optional: no certificate, still connected


def test_required_client_certificates_and_foreign_cas_are_refused(tmp_path: Path) -> None:
    authority = CertificateAuthority.load_or_create(tmp_path / "ours")
    foreign = CertificateAuthority.load_or_create(tmp_path / "foreign")
    server = ServerCertificate(tmp_path / "ours", authority)
    server.ensure()
    foreign_cert = write_client_certificate(foreign, tmp_path, "intruder")
    our_cert = write_client_certificate(authority, tmp_path, "app-8")

    with tls_server(server.ssl_context_for_server(authority, "required")) as (port, seen):
        for context in (client_context(authority), client_context(authority, foreign_cert)):
            with pytest.raises((ssl.SSLError, ConnectionError)):
                reply, _ = talk(port, context)
                if reply != b"ok":
                    raise ConnectionError("closed by the server")
        reply, _ = talk(port, client_context(authority, our_cert))

    assert reply == b"ok"
    assert len(seen.errors) == 2
    assert all(isinstance(error, ssl.SSLError) for error in seen.errors)
    assert len(seen.peers) == 1
    with pytest.raises(ValueError, match="client_certificates"):
        server.ssl_context_for_server(authority, "sometimes")


def test_reload_serves_the_renewed_certificate_to_new_connections(tmp_path: Path) -> None:
    clock = FakeClock(datetime.now(UTC))
    authority = CertificateAuthority.load_or_create(tmp_path, clock=clock)
    server = ServerCertificate(tmp_path, authority, clock=clock)
    server.ensure()
    context = server.ssl_context_for_server(authority)
    client = client_context(authority, write_client_certificate(authority, tmp_path, "rt-1"))

    with tls_server(context) as (port, seen):
        _, before = talk(port, client)
        server.ensure(["renewed.example"])
        server.reload(context)
        _, after = talk(port, client)

    assert seen.errors == []
    assert after != before
    assert after == load_leaf(server.cert_path)
    assert "renewed.example" in san_names(after)[0]
