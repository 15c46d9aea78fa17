"""The application side of pairing, for `compass pair`.

From a one-time token's rawEncoded form to a client certificate: the
Connector's `configuration` names the subject, a new key signs a CSR for it,
`signCertificateSigningRequest` returns the certificate chain and the CA. A
first call over mutual TLS (`viewer`) shows the credentials work before the
command says so.
"""

from __future__ import annotations

import base64
import binascii
import json
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from compass.errors_cli import ConfigurationError, RuntimeFailure
from compass.pki.files import write_private_file

__all__ = ["Paired", "decode_raw_encoded", "pair_application"]

CONFIGURATION = """query { result: configuration() {
  token { token }
  certificateSigningRequestInfo { subject }
  managementPlaneInfo { directorURL certificateSecuredConnectorURL }
} }"""
SIGN = """mutation($csr: String!) { result: signCertificateSigningRequest(csr: $csr) {
  certificateChain caCertificate } }"""
VIEWER = "{ result: viewer { id type } }"
TIMEOUT = 30.0

_SUBJECT_OIDS = {
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "L": NameOID.LOCALITY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "C": NameOID.COUNTRY_NAME,
    "CN": NameOID.COMMON_NAME,
}


@dataclass(frozen=True)
class Paired:
    viewer_id: str
    viewer_type: str
    director_url: str


def decode_raw_encoded(raw_encoded: str) -> tuple[str, str]:
    """(token, connectorURL) from base64 of `{"token": ..., "connectorURL": ...}`."""
    try:
        raw = json.loads(base64.b64decode(raw_encoded.strip(), validate=True))
        token, url = raw["token"], raw["connectorURL"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise ConfigurationError(
            "--raw-encoded is not a one-time token's rawEncoded (base64 of {token, connectorURL})"
        ) from None
    if not (isinstance(token, str) and isinstance(url, str) and url.startswith("http")):
        raise ConfigurationError("--raw-encoded does not hold a token and a connector URL")
    return token, url


def _subject(text: str) -> x509.Name:
    """`O=Org,OU=OrgUnit,...,CN=id` as an X.509 name, in the same order."""
    attributes = []
    for part in text.split(","):
        key, _, value = part.partition("=")
        attributes.append(x509.NameAttribute(_SUBJECT_OIDS[key.strip()], value.strip()))
    return x509.Name(attributes)


def _call(
    client: httpx.Client,
    url: str,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    try:
        response = client.post(
            url, json={"query": query, "variables": variables or {}}, headers=headers or {}
        )
    except httpx.TransportError as error:
        raise RuntimeFailure(f"cannot reach {url}: {error or type(error).__name__}") from error
    try:
        body = response.json()
    except ValueError:
        raise RuntimeFailure(f"{url} answered HTTP {response.status_code}, not GraphQL") from None
    if body.get("errors"):
        raise RuntimeFailure(f"{url}: {body['errors'][0].get('message')}")
    return body["data"]["result"]


def _key_and_csr(subject: str) -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = x509.CertificateSigningRequestBuilder().subject_name(_subject(subject))
    pem = csr.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    return key, base64.b64encode(pem).decode()


def _write(out: Path, key: rsa.RSAPrivateKey, signed: dict[str, Any]) -> None:
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private_file(out / "key.pem", key_pem)
    (out / "cert.pem").write_bytes(base64.b64decode(signed["certificateChain"]))
    (out / "ca.pem").write_bytes(base64.b64decode(signed["caCertificate"]))


def pair_application(raw_encoded: str, out: Path) -> Paired:
    token, connector_url = decode_raw_encoded(raw_encoded)
    if out.exists() and not out.is_dir():
        raise ConfigurationError(f"--out {out} is not a directory")
    with httpx.Client(timeout=TIMEOUT) as client:
        configuration = _call(
            client, connector_url, CONFIGURATION, headers={"Connector-Token": token}
        )
        key, csr = _key_and_csr(configuration["certificateSigningRequestInfo"]["subject"])
        signed = _call(
            client,
            connector_url,
            SIGN,
            {"csr": csr},
            headers={"Connector-Token": configuration["token"]["token"]},
        )
    _write(out, key, signed)
    director_url = configuration["managementPlaneInfo"]["directorURL"]
    context = ssl.create_default_context(cafile=str(out / "ca.pem"))
    context.load_cert_chain(out / "cert.pem", out / "key.pem")
    with httpx.Client(verify=context, timeout=TIMEOUT) as client:
        viewer = _call(client, director_url, VIEWER)
    return Paired(viewer["id"], viewer["type"], director_url)
