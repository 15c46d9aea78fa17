#!/usr/bin/env python3
"""Pair an application with Compass, using only httpx and cryptography.

    python examples/pair_application.py --raw-encoded <rawEncoded> --out ./app-credentials
    python examples/pair_application.py --token <token> --connector-url <url> --out DIR

1. `configuration` with the one-time token: the subject to certify and a fresh token;
2. a new RSA 2048 key and a signing request for that subject;
3. `signCertificateSigningRequest`: the client certificate and the CA;
4. key.pem, cert.pem (certificate and chain) and ca.pem are written to --out;
5. a first call over mutual TLS (`viewer`) proves the certificate works.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import ssl
import sys
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

CONFIGURATION = """query { result: configuration() {
  token { token }
  certificateSigningRequestInfo { subject keyAlgorithm }
  managementPlaneInfo { directorURL certificateSecuredConnectorURL }
} }"""
SIGN = """mutation($csr: String!) { result: signCertificateSigningRequest(csr: $csr) {
  certificateChain caCertificate clientCertificate } }"""
VIEWER = "{ viewer { id type } }"

_OIDS = {
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "L": NameOID.LOCALITY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "C": NameOID.COUNTRY_NAME,
    "CN": NameOID.COMMON_NAME,
}


def subject_of(text: str) -> x509.Name:
    """`O=Org,OU=OrgUnit,...,CN=id` as an X.509 name, in the same order."""
    attributes = []
    for part in text.split(","):
        key, _, value = part.partition("=")
        attributes.append(x509.NameAttribute(_OIDS[key.strip()], value.strip()))
    return x509.Name(attributes)


def graphql(
    client: httpx.Client,
    url: str,
    query: str,
    variables: dict | None = None,
    headers: dict | None = None,
) -> dict:
    response = client.post(
        url, json={"query": query, "variables": variables or {}}, headers=headers or {}
    )
    try:
        body = response.json()
    except ValueError:
        raise SystemExit(f"{url} answered HTTP {response.status_code}, not GraphQL") from None
    if body.get("errors"):
        raise SystemExit(f"{url}: {body['errors'][0]['message']}")
    return body["data"]["result"] if "result" in body["data"] else body["data"]


def write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def pair(token: str, connector_url: str, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    with httpx.Client(timeout=30) as client:
        configuration = graphql(
            client, connector_url, CONFIGURATION, headers={"Connector-Token": token}
        )
        info = configuration["certificateSigningRequestInfo"]
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(subject_of(info["subject"]))
            .sign(key, hashes.SHA256())
        )
        encoded = base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode()
        signed = graphql(
            client,
            connector_url,
            SIGN,
            {"csr": encoded},
            headers={"Connector-Token": configuration["token"]["token"]},
        )
    write_private(
        out / "key.pem",
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    (out / "cert.pem").write_bytes(base64.b64decode(signed["certificateChain"]))
    (out / "ca.pem").write_bytes(base64.b64decode(signed["caCertificate"]))
    urls = configuration["managementPlaneInfo"]
    (out / "urls.json").write_text(json.dumps(urls, indent=2))
    return urls


def mtls_context(out: Path) -> ssl.SSLContext:
    """Trusts only the Compass CA and presents the application's certificate."""
    context = ssl.create_default_context(cafile=str(out / "ca.pem"))
    context.load_cert_chain(out / "cert.pem", out / "key.pem")
    return context


def check(out: Path, director_url: str) -> dict:
    """A first call as the application, over mutual TLS."""
    with httpx.Client(verify=mtls_context(out), timeout=30) as client:
        return graphql(client, director_url, VIEWER)["viewer"]


def decode_raw_encoded(raw_encoded: str) -> tuple[str, str]:
    """(token, connectorURL) from base64 of `{"token": ..., "connectorURL": ...}`."""
    try:
        raw = json.loads(base64.b64decode(raw_encoded.strip(), validate=True))
        return str(raw["token"]), str(raw["connectorURL"])
    except (ValueError, TypeError, KeyError):  # binascii.Error is a ValueError
        raise SystemExit(
            "--raw-encoded is not a one-time token's rawEncoded (base64 of {token, connectorURL})"
        ) from None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw-encoded", help="rawEncoded of requestOneTimeTokenForApplication")
    parser.add_argument("--token", help="the one-time token")
    parser.add_argument("--connector-url", help="connectorURL of the one-time token")
    parser.add_argument("--out", type=Path, default=Path("app-credentials"))
    args = parser.parse_args()
    if args.raw_encoded:
        token, connector_url = decode_raw_encoded(args.raw_encoded)
    elif args.token and args.connector_url:
        token, connector_url = args.token, args.connector_url
    else:
        parser.error("give --raw-encoded, or --token with --connector-url")
    try:
        urls = pair(token, connector_url, args.out)
        viewer = check(args.out, urls["directorURL"])
    except httpx.TransportError as error:
        # One line, not a traceback: the usual cause is a wrong URL or a server that is down.
        raise SystemExit(f"cannot reach {error.request.url}: {error}") from None
    print(f"paired as {viewer['type']} {viewer['id']}; credentials in {args.out}")
    print(f"director (mutual TLS): {urls['directorURL']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
