"""What a Connector client does with `cryptography`: a key, a CSR for the
announced subject (base64 of PEM), and reading the certificates it gets back.
Also a stranger's CA, for certificates this server never issued."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "ForeignAuthority",
    "build_csr",
    "certificate_header",
    "csr_for",
    "decode_certificate",
    "decode_chain",
    "encode_csr",
    "generate_key",
    "parse_subject",
    "subject_of",
]

_OIDS = {
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "L": NameOID.LOCALITY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "C": NameOID.COUNTRY_NAME,
    "CN": NameOID.COMMON_NAME,
}
_LABELS = {oid: label for label, oid in _OIDS.items()}
_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n?", re.S)


def generate_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def parse_subject(subject: str) -> x509.Name:
    """`O=..,OU=..,L=..,ST=..,C=..,CN=..` as an x509 name, in the given order."""
    attributes = []
    for part in subject.split(","):
        label, _, value = part.partition("=")
        attributes.append(x509.NameAttribute(_OIDS[label.strip()], value))
    return x509.Name(attributes)


def subject_of(name: x509.Name) -> str:
    """The subject in the form the Connector announces it."""
    values = {_LABELS[attribute.oid]: str(attribute.value) for attribute in name}
    return ",".join(f"{label}={values[label]}" for label in _OIDS if label in values)


def build_csr(subject: str, key: object) -> x509.CertificateSigningRequest:
    builder = x509.CertificateSigningRequestBuilder().subject_name(parse_subject(subject))
    return builder.sign(key, hashes.SHA256())  # type: ignore[arg-type]


def encode_csr(csr: x509.CertificateSigningRequest) -> str:
    """Base64 of the PEM, as `signCertificateSigningRequest` takes it."""
    return base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode()


def csr_for(subject: str, key: object | None = None) -> str:
    return encode_csr(build_csr(subject, key if key is not None else generate_key()))


def decode_certificate(encoded: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(base64.b64decode(encoded))


def decode_chain(encoded: str) -> list[x509.Certificate]:
    pem = base64.b64decode(encoded)
    blocks = _PEM_BLOCK.findall(pem)
    assert b"".join(blocks).strip() == pem.strip(), "the chain holds more than certificates"
    return [x509.load_pem_x509_certificate(block) for block in blocks]


def certificate_header(certificate: x509.Certificate) -> str:
    """The certificate as a TLS-terminating proxy forwards it: URL-encoded PEM."""
    return quote(certificate.public_bytes(serialization.Encoding.PEM).decode())


class ForeignAuthority:
    """A CA of someone else, signing client certificates for any subject."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Compass CA")])
        now = datetime.now(UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    def sign(
        self, subject: str, key: object | None = None, serial: int | None = None
    ) -> x509.Certificate:
        key = key if key is not None else generate_key()
        now = datetime.now(UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(parse_subject(subject))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())  # type: ignore[attr-defined]
            .serial_number(serial if serial is not None else x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
