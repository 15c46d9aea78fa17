"""Small certificates for unit tests (EC keys: fast to make)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from compass.agent.connector import Issued

__all__ = ["issued"]

PEM = serialization.Encoding.PEM


def issued(
    lifetime: timedelta = timedelta(days=1), backdate: timedelta = timedelta(minutes=1)
) -> Issued:
    """A key with a certificate signed by a throwaway CA, as the Connector returns."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - backdate)
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "runtime")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - backdate)
        .not_valid_after(now + lifetime)
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return Issued(
        key_pem=key_pem,
        chain_pem=leaf.public_bytes(PEM) + ca.public_bytes(PEM),
        ca_pem=ca.public_bytes(PEM),
        director_url="https://127.0.0.1:1/director/graphql",
        secured_connector_url="https://127.0.0.1:1/connector/graphql",
    )
