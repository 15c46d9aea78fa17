"""The CA: created once with a private key, reused, replaceable by an existing
CA, and the only judge of which client certificates are ours."""

from __future__ import annotations

import multiprocessing
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from compass.errors import Unauthorized
from compass.pki.authority import CertificateAuthority, CertificateAuthorityError

START = datetime(2030, 1, 15, 12, 0, 0, tzinfo=UTC)
SUBJECT = x509.Name(
    [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Org"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "OrgUnit"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "locality"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "province"),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
        x509.NameAttribute(NameOID.COMMON_NAME, "8f0c3a1e-5d2b-4c7a-9e61-0b7d2f4a6c11"),
    ]
)


class FakeClock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def make_csr(key: object, subject: x509.Name = SUBJECT) -> x509.CertificateSigningRequest:
    return x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())


def ec_csr() -> x509.CertificateSigningRequest:
    return make_csr(ec.generate_private_key(ec.SECP256R1()))


def write_external_ca(directory: Path, *, ca: bool = True) -> tuple[Path, Path, rsa.RSAPrivateKey]:
    """An RSA CA made elsewhere, without a SubjectKeyIdentifier."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Corporate Root")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "corp-ca.pem", directory / "corp-ca-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path, key


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_load_creates_a_ca_with_a_private_key_and_later_loads_reuse_it(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    authority = CertificateAuthority.load_or_create(data_dir, clock=FakeClock())

    assert _mode(data_dir / "ca.key") == 0o600
    assert _mode(data_dir / "ca.crt") == 0o644
    certificate = authority.certificate
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Compass CA"
    assert certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "Compass"
    )
    assert certificate.issuer == certificate.subject
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature
    certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    public_key = certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    assert public_key.curve.name == "secp256r1"
    assert certificate.not_valid_after_utc - START == timedelta(days=3650)
    certificate.verify_directly_issued_by(certificate)
    assert (data_dir / "ca.crt").read_bytes() == authority.certificate_pem

    key_before = (data_dir / "ca.key").read_bytes()
    again = CertificateAuthority.load_or_create(data_dir)
    assert again.certificate == certificate
    assert again.certificate.serial_number == certificate.serial_number
    assert (data_dir / "ca.key").read_bytes() == key_before
    signed = again.sign_client_certificate(ec_csr(), SUBJECT, timedelta(days=1))
    signed.verify_directly_issued_by(authority.certificate)


def test_two_new_cas_in_different_directories_differ(tmp_path: Path) -> None:
    first = CertificateAuthority.load_or_create(tmp_path / "a")
    second = CertificateAuthority.load_or_create(tmp_path / "b")
    assert first.certificate.serial_number != second.certificate.serial_number
    assert first.certificate.public_key() != second.certificate.public_key()


def _create_in_child(data_dir: str, barrier: object, results: object) -> None:
    barrier.wait(30)  # type: ignore[attr-defined]
    authority = CertificateAuthority.load_or_create(Path(data_dir))
    fingerprint = authority.certificate.fingerprint(hashes.SHA256()).hex()
    results.put(fingerprint)  # type: ignore[attr-defined]


def test_processes_starting_together_end_with_one_matching_ca(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    results = context.Queue()
    data_dir = tmp_path / "shared"
    processes = [
        context.Process(target=_create_in_child, args=(str(data_dir), barrier, results))
        for _ in range(4)
    ]
    try:
        for process in processes:
            process.start()
        fingerprints = [results.get(timeout=60) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    assert all(process.exitcode == 0 for process in processes)
    assert len(set(fingerprints)) == 1
    final = CertificateAuthority.load_or_create(data_dir)
    assert final.certificate.fingerprint(hashes.SHA256()).hex() == fingerprints[0]
    assert sorted(path.name for path in data_dir.iterdir()) == [".ca.lock", "ca.crt", "ca.key"]


def test_an_existing_ca_is_used_when_its_files_are_given(tmp_path: Path) -> None:
    cert_path, key_path, _ = write_external_ca(tmp_path / "corp")
    data_dir = tmp_path / "data"
    authority = CertificateAuthority.load_or_create(data_dir, cert_path, key_path)

    assert authority.certificate_pem == cert_path.read_bytes()
    assert not (data_dir / "ca.crt").exists() and not (data_dir / "ca.key").exists()
    signed = authority.sign_client_certificate(ec_csr(), SUBJECT, timedelta(days=1))
    assert signed.issuer == authority.certificate.subject
    signed.verify_directly_issued_by(authority.certificate)
    authority.verify_client_certificate(signed)
    identifier = signed.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    expected = x509.AuthorityKeyIdentifier.from_issuer_public_key(
        authority.certificate.public_key()  # type: ignore[arg-type]
    )
    assert identifier.key_identifier == expected.key_identifier


def test_a_key_that_does_not_belong_to_the_ca_certificate_is_refused(tmp_path: Path) -> None:
    cert_path, _, _ = write_external_ca(tmp_path / "corp")
    _, other_key_path, _ = write_external_ca(tmp_path / "other")
    with pytest.raises(CertificateAuthorityError, match="does not belong"):
        CertificateAuthority.load_or_create(tmp_path / "data", cert_path, other_key_path)


def test_a_certificate_that_is_not_a_ca_is_refused(tmp_path: Path) -> None:
    cert_path, key_path, _ = write_external_ca(tmp_path / "corp", ca=False)
    with pytest.raises(CertificateAuthorityError, match="not a CA"):
        CertificateAuthority.load_or_create(tmp_path / "data", cert_path, key_path)


def test_unreadable_or_incomplete_ca_files_are_refused(tmp_path: Path) -> None:
    cert_path, key_path, _ = write_external_ca(tmp_path / "corp")
    with pytest.raises(CertificateAuthorityError, match="both"):
        CertificateAuthority.load_or_create(tmp_path / "data", cert_path, None)
    with pytest.raises(CertificateAuthorityError, match="cannot read"):
        CertificateAuthority.load_or_create(tmp_path / "data", tmp_path / "missing.pem", key_path)
    with pytest.raises(CertificateAuthorityError, match="not a PEM certificate"):
        CertificateAuthority.load_or_create(tmp_path / "data", key_path, key_path)
    with pytest.raises(CertificateAuthorityError, match="not a PEM private key"):
        CertificateAuthority.load_or_create(tmp_path / "data", cert_path, cert_path)
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(
        serialization.load_pem_private_key(key_path.read_bytes(), password=None).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    with pytest.raises(CertificateAuthorityError, match="is encrypted"):
        CertificateAuthority.load_or_create(tmp_path / "data", cert_path, encrypted)

    data_dir = tmp_path / "own"
    CertificateAuthority.load_or_create(data_dir)
    (data_dir / "ca.crt").unlink()
    with pytest.raises(CertificateAuthorityError, match="ca.crt does not"):
        CertificateAuthority.load_or_create(data_dir)
    assert not (data_dir / "ca.crt").exists()


def test_a_client_certificate_carries_the_subject_and_key_asked_for(tmp_path: Path) -> None:
    clock = FakeClock()
    authority = CertificateAuthority.load_or_create(tmp_path, clock=clock)
    clock.advance(timedelta(days=3))
    csr = ec_csr()

    certificate = authority.sign_client_certificate(csr, SUBJECT, timedelta(days=90))

    assert certificate.subject == SUBJECT
    assert certificate.subject.rdns == SUBJECT.rdns
    assert certificate.issuer == authority.certificate.subject
    assert certificate.public_key() == csr.public_key()
    assert certificate.not_valid_before_utc == clock.now - timedelta(minutes=1)
    assert certificate.not_valid_after_utc == clock.now + timedelta(days=90)
    assert isinstance(certificate.signature_hash_algorithm, hashes.SHA256)
    extensions = certificate.extensions
    constraints = extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and not constraints.value.ca
    usage = extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.key_encipherment
    assert not usage.value.key_cert_sign
    assert list(extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH
    ]
    ca_ski = authority.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    aki = extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ca_ski.value.digest
    ski = extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(csr.public_key())  # type: ignore[arg-type]
    certificate.verify_directly_issued_by(authority.certificate)


def test_serials_are_random_and_distinct(tmp_path: Path) -> None:
    authority = CertificateAuthority.load_or_create(tmp_path)
    csr = ec_csr()
    serials = [
        authority.sign_client_certificate(csr, SUBJECT, timedelta(days=1)).serial_number
        for _ in range(20)
    ]
    assert len(set(serials)) == 20
    assert all(serial.bit_length() > 64 for serial in serials)


def test_validity_never_exceeds_the_ca_and_must_be_positive(tmp_path: Path) -> None:
    clock = FakeClock()
    authority = CertificateAuthority.load_or_create(tmp_path, clock=clock)
    long = authority.sign_client_certificate(ec_csr(), SUBJECT, timedelta(days=20 * 365))
    assert long.not_valid_after_utc == authority.certificate.not_valid_after_utc
    with pytest.raises(ValueError, match="positive"):
        authority.sign_client_certificate(ec_csr(), SUBJECT, timedelta(0))
    clock.advance(timedelta(days=3651))
    with pytest.raises(CertificateAuthorityError, match="expired"):
        authority.sign_client_certificate(ec_csr(), SUBJECT, timedelta(days=1))


def test_verify_accepts_our_current_client_certificate(tmp_path: Path) -> None:
    clock = FakeClock()
    authority = CertificateAuthority.load_or_create(tmp_path, clock=clock)
    certificate = authority.sign_client_certificate(ec_csr(), SUBJECT, timedelta(hours=1))
    authority.verify_client_certificate(certificate)
    authority.verify_client_certificate(certificate, now=START + timedelta(minutes=59))


def test_verify_refuses_certificates_of_another_ca(tmp_path: Path) -> None:
    ours = CertificateAuthority.load_or_create(tmp_path / "ours")
    # Same subject "Compass CA", different key: only the signature tells them apart.
    impostor = CertificateAuthority.load_or_create(tmp_path / "impostor")
    cert_path, key_path, _ = write_external_ca(tmp_path / "corp")
    corporate = CertificateAuthority.load_or_create(tmp_path / "corp-data", cert_path, key_path)

    for foreign in (impostor, corporate):
        certificate = foreign.sign_client_certificate(ec_csr(), SUBJECT, timedelta(days=1))
        with pytest.raises(Unauthorized, match="not issued by this CA"):
            ours.verify_client_certificate(certificate)


def test_verify_refuses_expired_and_not_yet_valid_certificates(tmp_path: Path) -> None:
    clock = FakeClock()
    authority = CertificateAuthority.load_or_create(tmp_path, clock=clock)
    certificate = authority.sign_client_certificate(ec_csr(), SUBJECT, timedelta(hours=1))

    with pytest.raises(Unauthorized, match="expired"):
        authority.verify_client_certificate(certificate, now=START + timedelta(hours=1, seconds=1))
    clock.advance(timedelta(hours=2))
    with pytest.raises(Unauthorized, match="expired"):
        authority.verify_client_certificate(certificate)
    with pytest.raises(Unauthorized, match="not valid yet"):
        authority.verify_client_certificate(certificate, now=START - timedelta(minutes=2))


def test_verify_refuses_a_certificate_without_client_auth(tmp_path: Path) -> None:
    authority = CertificateAuthority.load_or_create(tmp_path)
    _, server_pem = authority.issue_server_certificate(["localhost"], timedelta(days=1))
    server_certificate = x509.load_pem_x509_certificate(server_pem)
    with pytest.raises(Unauthorized, match="client authentication"):
        authority.verify_client_certificate(server_certificate)
    with pytest.raises(Unauthorized, match="client authentication"):
        authority.verify_client_certificate(authority.certificate)


def test_server_certificates_name_hosts_and_addresses(tmp_path: Path) -> None:
    clock = FakeClock()
    authority = CertificateAuthority.load_or_create(tmp_path, clock=clock)
    key_pem, cert_pem = authority.issue_server_certificate(
        ["compass.example", "127.0.0.1", "::1"], timedelta(days=30)
    )
    certificate = x509.load_pem_x509_certificate(cert_pem)
    key = serialization.load_pem_private_key(key_pem, password=None)

    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert certificate.public_key() == key.public_key()
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "compass.example"
    )
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["compass.example"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1"]
    assert list(certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH
    ]
    assert certificate.not_valid_after_utc == START + timedelta(days=30)
    certificate.verify_directly_issued_by(authority.certificate)
    with pytest.raises(ValueError, match="at least one name"):
        authority.issue_server_certificate([], timedelta(days=1))
