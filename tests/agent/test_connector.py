"""Key, CSR and the two Connector calls against a fake Connector (MockTransport)
that signs with a throwaway CA, as the real one does."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from compass.agent.connector import configuration, new_key, sign, subject_name
from compass.agent.graphql import Refused, ServerError

URL = "http://compass.test/connector/graphql"
SUBJECT = "O=Org,OU=OrgUnit,L=locality,ST=province,C=DE,CN=auth-1"
PEM = serialization.Encoding.PEM


class FakeConnector:
    def __init__(self, key_algorithm: str = "rsa2048") -> None:
        self.key_algorithm = key_algorithm
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake CA")])
        now = datetime.now(UTC)
        self.ca = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.ca_key.public_key())
            .serial_number(1)
            .not_valid_before(now)
            .not_valid_after(now + timedelta(days=1))
            .sign(self.ca_key, hashes.SHA256())
        )
        self.csr: x509.CertificateSigningRequest | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        token = request.headers.get("Connector-Token")
        self.requests.append((body["query"].split("{", 2)[1].strip(), dict(request.headers)))
        if "configuration" in body["query"]:
            if token == "spent":
                error = {"message": "token used", "extensions": {"error_code": 26}}
                return httpx.Response(200, json={"data": None, "errors": [error]})
            configuration = {
                "token": {"token": "csr-token"},
                "certificateSigningRequestInfo": {
                    "subject": SUBJECT,
                    "keyAlgorithm": self.key_algorithm,
                },
                "managementPlaneInfo": {
                    "directorURL": "https://mtls.test/director/graphql",
                    "certificateSecuredConnectorURL": "https://mtls.test/connector/graphql",
                },
            }
            return httpx.Response(200, json={"data": {"configuration": configuration}})
        self.csr = x509.load_pem_x509_csr(base64.b64decode(body["variables"]["csr"]))
        now = datetime.now(UTC)
        leaf = (
            x509.CertificateBuilder()
            .subject_name(self.csr.subject)
            .issuer_name(self.ca.subject)
            .public_key(self.csr.public_key())
            .serial_number(2)
            .not_valid_before(now)
            .not_valid_after(now + timedelta(hours=1))
            .sign(self.ca_key, hashes.SHA256())
        )
        leaf_pem, ca_pem = leaf.public_bytes(PEM), self.ca.public_bytes(PEM)
        result = {
            "certificateChain": base64.b64encode(leaf_pem + ca_pem).decode(),
            "caCertificate": base64.b64encode(ca_pem).decode(),
            "clientCertificate": base64.b64encode(leaf_pem).decode(),
        }
        return httpx.Response(200, json={"data": {"signCertificateSigningRequest": result}})


def test_subject_keeps_the_announced_order() -> None:
    name = subject_name(SUBJECT)
    assert [a.oid for a in name] == [
        NameOID.ORGANIZATION_NAME,
        NameOID.ORGANIZATIONAL_UNIT_NAME,
        NameOID.LOCALITY_NAME,
        NameOID.STATE_OR_PROVINCE_NAME,
        NameOID.COUNTRY_NAME,
        NameOID.COMMON_NAME,
    ]
    assert name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "auth-1"
    escaped = subject_name(r"O=Org\, Inc,CN=x")
    assert escaped.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Org, Inc"


def test_key_algorithms() -> None:
    assert isinstance(new_key("rsa2048"), rsa.RSAPrivateKey)
    assert new_key("rsa2048").key_size == 2048
    assert isinstance(new_key("ecdsa"), ec.EllipticCurvePrivateKey)
    assert new_key("P-256").curve.name == "secp256r1"
    for unacceptable in ("rsa1024", "dsa", ""):
        with pytest.raises(ServerError):
            new_key(unacceptable)


async def test_pairing_sends_the_token_then_the_fresh_token() -> None:
    connector = FakeConnector()
    async with httpx.AsyncClient(transport=httpx.MockTransport(connector)) as client:
        pairing = await configuration(client, URL, {"Tenant": "t"}, "one-time")
        assert "csr-token" not in repr(pairing)
        issued = await sign(client, URL, pairing, {"Tenant": "t"}, with_token=True)
    (_, first), (_, second) = connector.requests
    assert first["connector-token"] == "one-time" and first["tenant"] == "t"
    assert second["connector-token"] == "csr-token"
    assert connector.csr is not None and connector.csr.subject == subject_name(SUBJECT)
    assert issued.director_url == "https://mtls.test/director/graphql"
    assert issued.secured_connector_url == "https://mtls.test/connector/graphql"
    key = serialization.load_pem_private_key(issued.key_pem, password=None)
    leaf = x509.load_pem_x509_certificate(issued.chain_pem)
    assert leaf.public_key() == key.public_key()
    assert issued.ca_pem == connector.ca.public_bytes(PEM)
    assert "PRIVATE" not in repr(issued)


async def test_renewal_sends_no_token_and_uses_a_new_key() -> None:
    connector = FakeConnector(key_algorithm="ecdsa")
    async with httpx.AsyncClient(transport=httpx.MockTransport(connector)) as client:
        pairing = await configuration(client, URL, {})
        first = await sign(client, URL, pairing, {}, with_token=False)
        second = await sign(client, URL, pairing, {}, with_token=False)
    assert all("connector-token" not in headers for _, headers in connector.requests)
    assert first.key_pem != second.key_pem


async def test_spent_token_is_refused() -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(FakeConnector())) as client:
        with pytest.raises(Refused):
            await configuration(client, URL, {}, "spent")
