"""The Connector contract from the agent's side: `configuration` tells the
subject and key algorithm the certificate must have (and hands out a fresh token
for the signing request); `signCertificateSigningRequest` turns a CSR into a
certificate. Pairing sends the one-time token to the public connector URL;
renewal sends nothing but the current certificate, over mutual TLS.

The two calls are separate so that a signing request lost to a network error
can be sent again with the fresh token: the one-time token is spent by then.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from compass.agent.graphql import ServerError, call

__all__ = ["Issued", "Pairing", "configuration", "new_key", "sign", "subject_name"]

CONFIGURATION = """query { configuration {
  token { token }
  certificateSigningRequestInfo { subject keyAlgorithm }
  managementPlaneInfo { directorURL certificateSecuredConnectorURL }
} }"""
SIGN = """mutation($csr: String!) { signCertificateSigningRequest(csr: $csr) {
  certificateChain caCertificate clientCertificate } }"""

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
_RSA = re.compile(r"^rsa-?(\d{4})$")
_CURVES: dict[str, ec.EllipticCurve] = {
    name: curve
    for names, curve in (
        (
            (
                "ecdsa",
                "ecdsa256",
                "ecdsa-p256",
                "ec256",
                "p256",
                "p-256",
                "secp256r1",
                "prime256v1",
            ),
            ec.SECP256R1(),
        ),
        (("ecdsa384", "ecdsa-p384", "ec384", "p384", "p-384", "secp384r1"), ec.SECP384R1()),
    )
    for name in names
}


@dataclass(frozen=True)
class Pairing:
    """What `configuration` answered; `csr_token` is a secret (not in repr)."""

    subject: str
    key_algorithm: str
    director_url: str
    secured_connector_url: str
    csr_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Issued:
    """A new key with its certificate chain, the CA, and where to use them."""

    key_pem: bytes = field(repr=False)
    chain_pem: bytes
    ca_pem: bytes
    director_url: str
    secured_connector_url: str


def new_key(algorithm: str) -> PrivateKey:
    name = algorithm.strip().lower()
    if match := _RSA.match(name):
        size = int(match.group(1))
        if size < 2048:
            raise ServerError(f"refusing to create an RSA key of {size} bits")
        return rsa.generate_private_key(public_exponent=65537, key_size=size)
    if name in _CURVES:
        return ec.generate_private_key(_CURVES[name])
    raise ServerError(f"the connector asks for an unknown key algorithm {algorithm!r}")


def subject_name(text: str) -> x509.Name:
    """The announced subject (`O=Org,...,CN=id`) with its RDNs in the order given.

    RFC 4514 strings list the most specific RDN first, so the parsed name is
    reversed to keep the order the Connector compares against.
    """
    try:
        parsed = x509.Name.from_rfc4514_string(text)
    except ValueError as error:
        raise ServerError(
            f"the connector announced a subject that does not parse: {error}"
        ) from None
    return x509.Name(list(reversed(parsed.rdns)))


def _csr(subject: str, key: PrivateKey) -> str:
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject_name(subject))
        .sign(key, hashes.SHA256())
    )
    return base64.b64encode(request.public_bytes(serialization.Encoding.PEM)).decode()


def _headers(base: dict[str, str], token: str | None) -> dict[str, str]:
    return {**base, "Connector-Token": token} if token is not None else dict(base)


async def configuration(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], token: str | None = None
) -> Pairing:
    """With the one-time token on the public URL, or with none over mutual TLS."""
    result = (await call(client, url, CONFIGURATION, headers=_headers(headers, token)))[
        "configuration"
    ]
    try:
        info, urls = result["certificateSigningRequestInfo"], result["managementPlaneInfo"]
        fresh = (result.get("token") or {}).get("token")
        return Pairing(
            subject=info["subject"],
            key_algorithm=info["keyAlgorithm"],
            director_url=urls["directorURL"],
            secured_connector_url=urls["certificateSecuredConnectorURL"],
            csr_token=fresh,
        )
    except (KeyError, TypeError):
        raise ServerError("the connector's configuration lacks subject or URLs") from None


def _pem(encoded: str, what: str) -> bytes:
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise ServerError(f"the connector's {what} is not base64") from None


async def sign(
    client: httpx.AsyncClient,
    url: str,
    pairing: Pairing,
    headers: dict[str, str],
    *,
    with_token: bool,
) -> Issued:
    """A new key and a CSR for the announced subject, signed by the Connector;
    `with_token` sends the fresh token from `configuration` (pairing)."""
    key = new_key(pairing.key_algorithm)
    token = pairing.csr_token if with_token else None
    result = (
        await call(client, url, SIGN, {"csr": _csr(pairing.subject, key)}, _headers(headers, token))
    )["signCertificateSigningRequest"]
    chain = _pem(result["certificateChain"], "certificate chain")
    ca = _pem(result["caCertificate"], "CA certificate")
    try:
        leaf = x509.load_pem_x509_certificate(chain)
        x509.load_pem_x509_certificate(ca)
    except ValueError:
        raise ServerError("the connector answered with certificates that do not parse") from None
    if leaf.public_key() != key.public_key():
        raise ServerError("the connector's certificate is not for the key we sent")
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return Issued(key_pem, chain, ca, pairing.director_url, pairing.secured_connector_url)
