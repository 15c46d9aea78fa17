"""An application pairing with Compass from the outside: only httpx, cryptography
and the standard library, no compass code. It speaks the Connector contract
(`configuration`, `signCertificateSigningRequest`, `revokeCertificate`) and
calls the Director over mutual TLS with the certificate it obtained."""

from __future__ import annotations

import base64
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

__all__ = [
    "Credentials",
    "GraphQLAnswer",
    "Pairing",
    "configuration",
    "credentials_of",
    "foreign_credentials",
    "mtls_client",
    "new_csr",
    "pairing_of",
    "post",
    "revoke",
    "sign",
    "subject_of",
]

TIMEOUT = 10.0

CONFIGURATION = """query { configuration {
  token { token }
  certificateSigningRequestInfo { subject keyAlgorithm }
  managementPlaneInfo { directorURL certificateSecuredConnectorURL }
} }"""
SIGN = """mutation($csr: String!) { signCertificateSigningRequest(csr: $csr) {
  certificateChain caCertificate clientCertificate } }"""
REVOKE = "mutation { revokeCertificate }"

_OIDS = {
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "L": NameOID.LOCALITY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "C": NameOID.COUNTRY_NAME,
    "CN": NameOID.COMMON_NAME,
}


@dataclass(frozen=True)
class GraphQLAnswer:
    status: int
    data: Any
    errors: list[dict[str, Any]]

    def value(self, field: str) -> Any:
        assert self.status == 200 and not self.errors, (self.status, self.errors)
        return self.data[field]

    def error_codes(self) -> list[int]:
        return [error.get("extensions", {}).get("error_code") for error in self.errors]


def post(
    client: httpx.Client,
    url: str,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> GraphQLAnswer:
    response = client.post(
        url, json={"query": query, "variables": variables or {}}, headers=headers or {}
    )
    body = response.json()
    return GraphQLAnswer(response.status_code, body.get("data"), body.get("errors") or [])


def subject_of(text: str) -> x509.Name:
    """`O=Org,OU=OrgUnit,...,CN=id` as an X.509 name, in the same order."""
    attributes = []
    for part in text.split(","):
        key, _, value = part.partition("=")
        attributes.append(x509.NameAttribute(_OIDS[key.strip()], value.strip()))
    return x509.Name(attributes)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def new_csr(subject: str) -> tuple[rsa.RSAPrivateKey, str]:
    """A new RSA 2048 key and a CSR for `subject`, as base64 of PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject_of(subject))
        .sign(key, hashes.SHA256())
    )
    return key, base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode()


@dataclass(frozen=True)
class Credentials:
    """A key with its certificate chain, and the CA the application trusts."""

    key_pem: bytes
    chain_pem: bytes
    ca_pem: bytes
    directory: Path

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.chain_pem)

    @property
    def leaf_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts only `ca_pem` and presents the certificate (httpx takes client
        certificates only through an SSLContext)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        key_path, chain_path = self.directory / "key.pem", self.directory / "chain.pem"
        key_path.write_bytes(self.key_pem)
        key_path.chmod(0o600)
        chain_path.write_bytes(self.chain_pem)
        context = ssl.create_default_context(cadata=self.ca_pem.decode())
        context.load_cert_chain(chain_path, key_path)
        return context


def mtls_client(credentials: Credentials) -> httpx.Client:
    """A fresh client (no pooled connection made with another certificate)."""
    return httpx.Client(verify=credentials.ssl_context(), timeout=TIMEOUT)


@dataclass(frozen=True)
class Pairing:
    subject: str
    key_algorithm: str
    csr_token: str
    director_url: str
    secured_connector_url: str


def configuration(client: httpx.Client, connector_url: str, token: str) -> GraphQLAnswer:
    return post(client, connector_url, CONFIGURATION, headers={"Connector-Token": token})


def pairing_of(answer: GraphQLAnswer) -> Pairing:
    result = answer.value("configuration")
    info, urls = result["certificateSigningRequestInfo"], result["managementPlaneInfo"]
    return Pairing(
        subject=info["subject"],
        key_algorithm=info["keyAlgorithm"],
        csr_token=result["token"]["token"],
        director_url=urls["directorURL"],
        secured_connector_url=urls["certificateSecuredConnectorURL"],
    )


def sign(
    client: httpx.Client, connector_url: str, encoded_csr: str, token: str | None = None
) -> GraphQLAnswer:
    """With a token on the public connector URL, or without one over mutual TLS."""
    headers = {"Connector-Token": token} if token is not None else {}
    return post(client, connector_url, SIGN, {"csr": encoded_csr}, headers)


def credentials_of(answer: GraphQLAnswer, key: rsa.RSAPrivateKey, directory: Path) -> Credentials:
    result = answer.value("signCertificateSigningRequest")
    chain = base64.b64decode(result["certificateChain"])
    client_certificate = base64.b64decode(result["clientCertificate"])
    ca = base64.b64decode(result["caCertificate"])
    assert chain.startswith(client_certificate) and chain.endswith(ca)
    return Credentials(_key_pem(key), chain, ca, directory)


def revoke(client: httpx.Client, secured_connector_url: str) -> GraphQLAnswer:
    return post(client, secured_connector_url, REVOKE)


def foreign_credentials(subject: str, trusted_ca_pem: bytes, directory: Path) -> Credentials:
    """A certificate for `subject` from a CA of our own making: right name, wrong issuer."""
    now = datetime.now(UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "foreign CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(subject_of(subject))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return Credentials(
        _key_pem(key), leaf.public_bytes(pem) + ca.public_bytes(pem), trusted_ca_pem, directory
    )
