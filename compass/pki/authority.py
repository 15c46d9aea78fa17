"""The certificate authority: the one place that holds the CA key and signs with it.

The Connector turns checked CSRs into client certificates here, `compass serve`
gets its server certificate from here, and the mTLS listener asks here whether a
presented certificate is ours. What a requester may obtain is decided in
`compass.pki.policy`; revocations live in the database.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from compass.errors import Unauthorized
from compass.pki.files import file_lock, write_key_and_certificate

__all__ = [
    "CA_CERT_FILE",
    "CA_KEY_FILE",
    "CertificateAuthority",
    "CertificateAuthorityError",
    "Clock",
    "certificate_serial",
]

CA_CERT_FILE = "ca.crt"
CA_KEY_FILE = "ca.key"
CA_VALIDITY = timedelta(days=3650)
CLOCK_SKEW = timedelta(minutes=1)

Clock = Callable[[], datetime]
SigningKey = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
)


def certificate_serial(certificate: x509.Certificate) -> str:
    """How issued certificates are recorded and looked up: the serial in hex."""
    return format(certificate.serial_number, "x")


class CertificateAuthorityError(ValueError):
    """The CA files are unusable; raised at start-up, never to a client."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class CertificateAuthority:
    """A CA certificate with its private key, and the clock used for validity."""

    def __init__(
        self, certificate: x509.Certificate, private_key: SigningKey, *, clock: Clock = _utc_now
    ) -> None:
        _check_ca(certificate, private_key, source="the CA certificate")
        self._certificate = certificate
        self._key = private_key
        self._clock = clock

    @classmethod
    def load_or_create(
        cls,
        data_dir: Path,
        cert_path: Path | None = None,
        key_path: Path | None = None,
        *,
        clock: Clock = _utc_now,
    ) -> CertificateAuthority:
        """Use the configured CA, else the one in `data_dir`, created on first start."""
        if cert_path is not None or key_path is not None:
            if cert_path is None or key_path is None:
                raise CertificateAuthorityError(
                    "an existing CA needs both its certificate and its private key"
                )
            return cls._load(cert_path, key_path, clock)
        data_dir.mkdir(parents=True, exist_ok=True)
        cert_file, key_file = data_dir / CA_CERT_FILE, data_dir / CA_KEY_FILE
        with file_lock(data_dir / ".ca.lock"):
            if not cert_file.exists() and not key_file.exists():
                _create_files(cert_file, key_file, clock())
            elif not (cert_file.exists() and key_file.exists()):
                present, missing = (
                    (cert_file, key_file) if cert_file.exists() else (key_file, cert_file)
                )
                raise CertificateAuthorityError(
                    f"{present} exists but {missing} does not; restore it, "
                    "or remove both to create a new CA"
                )
            return cls._load(cert_file, key_file, clock)

    @classmethod
    def load(
        cls, data_dir: Path, cert_path: Path | None = None, key_path: Path | None = None
    ) -> CertificateAuthority:
        """Like `load_or_create`, for commands other than `compass serve`: never creates a CA."""
        if cert_path is None and key_path is None:
            cert_path, key_path = data_dir / CA_CERT_FILE, data_dir / CA_KEY_FILE
            if not cert_path.exists() and not key_path.exists():
                raise CertificateAuthorityError(f"no CA ({CA_CERT_FILE}) in {data_dir}")
        if cert_path is None or key_path is None:
            raise CertificateAuthorityError(
                "an existing CA needs both its certificate and its private key"
            )
        return cls._load(cert_path, key_path, _utc_now)

    @classmethod
    def _load(cls, cert_path: Path, key_path: Path, clock: Clock) -> CertificateAuthority:
        cert_pem, key_pem = _read(cert_path), _read(key_path)
        try:
            certificate = x509.load_pem_x509_certificate(cert_pem)
        except ValueError as error:
            raise CertificateAuthorityError(f"{cert_path} is not a PEM certificate") from error
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
        except TypeError as error:
            raise CertificateAuthorityError(
                f"{key_path} is encrypted; provide an unencrypted key"
            ) from error
        except (ValueError, UnsupportedAlgorithm) as error:
            raise CertificateAuthorityError(f"{key_path} is not a PEM private key") from error
        if not isinstance(key, SigningKey):
            raise CertificateAuthorityError(f"{key_path} holds a key that cannot sign certificates")
        _check_ca(certificate, key, source=str(cert_path), key_source=str(key_path))
        return cls(certificate, key, clock=clock)

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def certificate_pem(self) -> bytes:
        return self._certificate.public_bytes(serialization.Encoding.PEM)

    def sign_client_certificate(
        self, csr: x509.CertificateSigningRequest, subject: x509.Name, validity: timedelta
    ) -> x509.Certificate:
        """Sign the CSR's key for `subject`; the CSR is assumed checked by the policy."""
        builder = self._leaf_builder(subject, csr.public_key(), validity)
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        return builder.sign(self._key, _hash_for(self._key))

    def issue_server_certificate(
        self, names: list[str], validity: timedelta
    ) -> tuple[bytes, bytes]:
        """A fresh key and certificate for the TLS listener; returns (key PEM, cert PEM)."""
        if not names:
            raise ValueError("a server certificate needs at least one name")
        key = ec.generate_private_key(ec.SECP256R1())
        common_name = names[0]
        subject = (
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
            if len(common_name) <= 64
            else x509.Name([])
        )
        builder = self._leaf_builder(subject, key.public_key(), validity)
        builder = (
            builder.add_extension(
                x509.SubjectAlternativeName([_general_name(name) for name in names]),
                critical=not subject.rdns,
            )
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        )
        certificate = builder.sign(self._key, _hash_for(self._key))
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return key_pem, certificate.public_bytes(serialization.Encoding.PEM)

    def verify_client_certificate(
        self, certificate: x509.Certificate, now: datetime | None = None
    ) -> None:
        """Refuse anything but a current client certificate signed by this CA."""
        try:
            certificate.verify_directly_issued_by(self._certificate)
        except (ValueError, TypeError, InvalidSignature) as error:
            raise Unauthorized("client certificate was not issued by this CA") from error
        moment = now if now is not None else self._clock()
        if moment < certificate.not_valid_before_utc:
            raise Unauthorized("client certificate is not valid yet")
        if moment > certificate.not_valid_after_utc:
            raise Unauthorized("client certificate has expired")
        try:
            usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            usages = None
        if usages is None or ExtendedKeyUsageOID.CLIENT_AUTH not in usages:
            raise Unauthorized("certificate is not meant for client authentication")

    def _leaf_builder(
        self, subject: x509.Name, public_key: object, validity: timedelta
    ) -> x509.CertificateBuilder:
        if validity <= timedelta(0):
            raise ValueError("certificate validity must be positive")
        now = self._clock()
        not_before = now - CLOCK_SKEW
        not_after = min(now + validity, self._certificate.not_valid_after_utc)
        if not_after <= now:
            raise CertificateAuthorityError("the CA certificate has expired")
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._certificate.subject)
            .public_key(public_key)  # type: ignore[arg-type]
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(self._authority_key_identifier(), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(public_key),  # type: ignore[arg-type]
                critical=False,
            )
        )

    def _authority_key_identifier(self) -> x509.AuthorityKeyIdentifier:
        try:
            ski = self._certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        except x509.ExtensionNotFound:
            return x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key())
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value)


def _hash_for(key: SigningKey) -> hashes.HashAlgorithm | None:
    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return None
    return hashes.SHA256()


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise CertificateAuthorityError(f"cannot read {path}: {error.strerror}") from error


def _public_der(key: object) -> bytes:
    return key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _check_ca(
    certificate: x509.Certificate,
    key: SigningKey,
    *,
    source: str,
    key_source: str = "the private key",
) -> None:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise CertificateAuthorityError(f"{source} is not a CA certificate (BasicConstraints)")
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and not usage.key_cert_sign:
        raise CertificateAuthorityError(f"{source} may not sign certificates (KeyUsage)")
    if _public_der(certificate.public_key()) != _public_der(key.public_key()):
        raise CertificateAuthorityError(f"{key_source} does not belong to {source}")


def _create_files(cert_file: Path, key_file: Path, now: datetime) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Compass CA"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Compass"),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_key_and_certificate(
        key_file,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        cert_file,
        certificate.public_bytes(serialization.Encoding.PEM),
    )
