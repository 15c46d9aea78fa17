"""The Connector with one-time tokens: `configuration` and
`signCertificateSigningRequest`, as an application or a runtime agent calls them."""

from __future__ import annotations

import asyncio
import base64
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from typer.testing import CliRunner

from compass.cli import app as cli
from compass.db import create_engine
from tests.api.pki_client import (
    build_csr,
    csr_for,
    decode_certificate,
    decode_chain,
    encode_csr,
    generate_key,
    parse_subject,
)
from tests.api.trust import (
    CONFIGURATION,
    CONNECTOR_PATH,
    SIGN,
    compass_api,
    connector,
    one_time_token,
    register_application,
    register_runtime,
)
from tests.conftest import error_code

SUBJECT_PREFIX = "O=Org,OU=OrgUnit,L=locality,ST=province,C=DE,CN="
APPLICATIONS = "{ applications { totalCount } }"


async def _token(api, kind: str = "Application") -> str:
    name = f"owner-{uuid.uuid4().hex[:8]}"
    if kind == "Application":
        owner_id = await register_application(api, name)
    else:
        owner_id = await register_runtime(api, name)
    return (await one_time_token(api, kind, owner_id))["token"]


async def _configuration(api, token: str, path: str = CONNECTOR_PATH) -> dict:
    return (await connector(api, token).data(CONFIGURATION, path=path))["configuration"]


async def _csr_token(api) -> tuple[str, str]:
    """A token for a signing request and the subject the request must carry."""
    configuration = await _configuration(api, await _token(api))
    return (
        configuration["token"]["token"],
        configuration["certificateSigningRequestInfo"]["subject"],
    )


async def _sign(api, token: str, csr: str) -> dict:
    return await connector(api, token).post(SIGN, {"csr": csr}, path=CONNECTOR_PATH)


def _only_error(body: dict) -> dict:
    assert body.get("data") is None, body
    assert len(body["errors"]) == 1, body
    return body["errors"][0]


# configuration


@pytest.mark.parametrize("kind", ["Application", "Runtime"])
async def test_configuration_announces_subject_key_and_a_fresh_token(api, kind):
    token = await _token(api, kind)
    configuration = await _configuration(api, token)
    info = configuration["certificateSigningRequestInfo"]
    assert info["subject"].startswith(SUBJECT_PREFIX)
    system_auth_id = info["subject"].removeprefix(SUBJECT_PREFIX)
    assert len(system_auth_id) == 36 and "," not in system_auth_id
    assert info["keyAlgorithm"] == "rsa2048"
    fresh = configuration["token"]["token"]
    assert fresh and fresh != token
    assert configuration["managementPlaneInfo"] == {
        "directorURL": "https://127.0.0.1:3443/director/graphql",
        "certificateSecuredConnectorURL": "https://127.0.0.1:3443/connector/graphql",
    }


async def test_configuration_uses_configured_subject_and_mtls_url(settings):
    async with compass_api(
        settings,
        csr_organization="Acme",
        csr_organizational_unit="Integration",
        csr_locality="Berlin",
        csr_province="BE",
        csr_country="PL",
        mtls_public_url="https://mtls.example.com:8443/",
    ) as api:
        configuration = await _configuration(api, await _token(api))
    assert configuration["certificateSigningRequestInfo"]["subject"].startswith(
        "O=Acme,OU=Integration,L=Berlin,ST=BE,C=PL,CN="
    )
    assert configuration["managementPlaneInfo"] == {
        "directorURL": "https://mtls.example.com:8443/director/graphql",
        "certificateSecuredConnectorURL": "https://mtls.example.com:8443/connector/graphql",
    }


@pytest.mark.parametrize("path", ["/connector/graphql", "/graphql", "/director/graphql"])
async def test_configuration_is_served_on_every_graphql_path(api, path):
    configuration = await _configuration(api, await _token(api), path=path)
    assert configuration["certificateSigningRequestInfo"]["keyAlgorithm"] == "rsa2048"


async def test_configuration_without_parentheses_works_too(api):
    token = await _token(api)
    data = await connector(api, token).data(
        "{ configuration { certificateSigningRequestInfo { subject } } }", path=CONNECTOR_PATH
    )
    assert data["configuration"]["certificateSigningRequestInfo"]["subject"].startswith(
        SUBJECT_PREFIX
    )


async def test_token_in_the_query_parameter(api):
    app_id = await register_application(api, "shop")
    issued = await one_time_token(api, "Application", app_id)
    legacy = urlsplit(issued["legacyConnectorURL"])
    response = await api.client.post(f"{legacy.path}?{legacy.query}", json={"query": CONFIGURATION})
    body = response.json()
    assert "errors" not in body, body
    configuration = body["data"]["configuration"]
    assert configuration["certificateSigningRequestInfo"]["subject"].startswith(SUBJECT_PREFIX)
    # The fresh token works in the query parameter as well.
    fresh = configuration["token"]["token"]
    subject = configuration["certificateSigningRequestInfo"]["subject"]
    response = await api.client.post(
        CONNECTOR_PATH,
        params={"token": fresh},
        json={"query": SIGN, "variables": {"csr": csr_for(subject)}},
    )
    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["signCertificateSigningRequest"]["clientCertificate"]


async def test_token_works_only_once(api):
    token = await _token(api)
    await _configuration(api, token)
    error = _only_error(await connector(api, token).post(CONFIGURATION, path=CONNECTOR_PATH))
    assert error_code(error) == 26
    assert error["extensions"]["error"] == "Unauthorized"


async def test_query_parameter_token_works_only_once(api):
    token = await _token(api)
    await _configuration(api, token)
    response = await api.client.post(
        CONNECTOR_PATH, params={"token": token}, json={"query": CONFIGURATION}
    )
    assert error_code(_only_error(response.json())) == 26


async def test_unknown_token_is_unauthorized(api):
    body = await connector(api, "not-a-token-we-issued").post(CONFIGURATION, path=CONNECTOR_PATH)
    assert error_code(_only_error(body)) == 26


async def test_no_token_and_no_certificate_is_unauthorized(api):
    response = await api.client.post(CONNECTOR_PATH, json={"query": CONFIGURATION})
    assert response.status_code == 200
    assert error_code(_only_error(response.json())) == 26


async def test_administrator_token_is_not_a_connector_credential(api):
    body = await api.post(CONFIGURATION, path=CONNECTOR_PATH)
    assert error_code(_only_error(body)) == 26


async def test_expired_token_is_unauthorized(settings):
    async with compass_api(settings, application_token_minutes=0) as api:
        token = await _token(api)
        body = await connector(api, token).post(CONFIGURATION, path=CONNECTOR_PATH)
    assert error_code(_only_error(body)) == 26


async def test_token_expired_in_the_database_is_unauthorized(api, settings):
    token = await _token(api)
    engine = create_engine(settings.sqlalchemy_url())
    try:
        async with engine.begin() as connection:
            past = datetime.now(UTC) - timedelta(seconds=1)
            changed = await connection.execute(
                sa.text("UPDATE one_time_tokens SET expires_at = :past"), {"past": past}
            )
            assert changed.rowcount == 1
    finally:
        await engine.dispose()
    body = await connector(api, token).post(CONFIGURATION, path=CONNECTOR_PATH)
    assert error_code(_only_error(body)) == 26


async def test_runtime_token_lives_longer_than_an_application_token(settings):
    async with compass_api(settings, application_token_minutes=0) as api:
        runtime_token = await _token(api, "Runtime")
        configuration = await _configuration(api, runtime_token)
    assert configuration["token"]["token"]


async def test_expired_signing_token_is_unauthorized(settings):
    async with compass_api(settings, csr_token_minutes=0) as api:
        token, subject = await _csr_token(api)
        body = await _sign(api, token, csr_for(subject))
    assert error_code(_only_error(body)) == 26


async def test_connector_token_does_not_open_the_director(api):
    token = await _token(api)
    body = await connector(api, token).post(APPLICATIONS, path=CONNECTOR_PATH)
    assert error_code(_only_error(body)) == 26
    # Refusing it did not use it up.
    assert (await _configuration(api, token))["token"]["token"]


# signCertificateSigningRequest


async def test_sign_returns_client_certificate_chain_and_ca(api, app):
    token, subject = await _csr_token(api)
    key = generate_key()
    body = await _sign(api, token, encode_csr(build_csr(subject, key)))
    assert "errors" not in body, body
    result = body["data"]["signCertificateSigningRequest"]

    ca_pem = app.state.compass.authority.certificate_pem
    assert base64.b64decode(result["caCertificate"]) == ca_pem
    certificate = decode_certificate(result["clientCertificate"])
    chain = decode_chain(result["certificateChain"])
    assert [c.fingerprint(c.signature_hash_algorithm) for c in chain] == [
        certificate.fingerprint(certificate.signature_hash_algorithm),
        app.state.compass.authority.certificate.fingerprint(
            app.state.compass.authority.certificate.signature_hash_algorithm
        ),
    ]
    ca = x509.load_pem_x509_certificate(ca_pem)
    certificate.verify_directly_issued_by(ca)

    assert certificate.subject == parse_subject(subject)
    assert certificate.public_key().public_numbers() == key.public_key().public_numbers()
    usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in usages
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca is False
    lifetime = certificate.not_valid_after_utc - datetime.now(UTC)
    assert timedelta(days=89, hours=23) < lifetime <= timedelta(days=90)
    assert certificate.not_valid_before_utc <= datetime.now(UTC)


async def test_ca_certificate_is_what_the_cli_exports(api, settings):
    token, subject = await _csr_token(api)
    body = await _sign(api, token, csr_for(subject))
    result = body["data"]["signCertificateSigningRequest"]
    exported = CliRunner().invoke(cli, ["ca", "export", "--data-dir", str(settings.data_dir)])
    assert exported.exit_code == 0, exported.output
    assert base64.b64decode(result["caCertificate"]).decode() == exported.stdout


async def test_certificate_validity_follows_the_settings(settings):
    async with compass_api(settings, client_certificate_validity_days=7) as api:
        token, subject = await _csr_token(api)
        body = await _sign(api, token, csr_for(subject))
    certificate = decode_certificate(
        body["data"]["signCertificateSigningRequest"]["clientCertificate"]
    )
    lifetime = certificate.not_valid_after_utc - datetime.now(UTC)
    assert timedelta(days=6, hours=23) < lifetime <= timedelta(days=7)


async def test_ec_p256_key_is_accepted(api):
    token, subject = await _csr_token(api)
    key = ec.generate_private_key(ec.SECP256R1())
    body = await _sign(api, token, encode_csr(build_csr(subject, key)))
    assert "errors" not in body, body
    certificate = decode_certificate(
        body["data"]["signCertificateSigningRequest"]["clientCertificate"]
    )
    assert certificate.subject == parse_subject(subject)


async def test_runtime_gets_a_certificate_for_its_own_subject(api):
    configuration = await _configuration(api, await _token(api, "Runtime"))
    subject = configuration["certificateSigningRequestInfo"]["subject"]
    body = await _sign(api, configuration["token"]["token"], csr_for(subject))
    assert "errors" not in body, body
    certificate = decode_certificate(
        body["data"]["signCertificateSigningRequest"]["clientCertificate"]
    )
    assert certificate.subject == parse_subject(subject)


async def test_signing_token_works_only_once(api):
    token, subject = await _csr_token(api)
    assert "errors" not in await _sign(api, token, csr_for(subject))
    error = _only_error(await _sign(api, token, csr_for(subject)))
    assert error_code(error) == 26


async def test_sign_without_token_or_certificate_is_unauthorized(api):
    _token_, subject = await _csr_token(api)
    response = await api.client.post(
        CONNECTOR_PATH, json={"query": SIGN, "variables": {"csr": csr_for(subject)}}
    )
    assert error_code(_only_error(response.json())) == 26


async def test_sign_with_unknown_token_is_unauthorized(api):
    _token_, subject = await _csr_token(api)
    error = _only_error(await _sign(api, "unknown", csr_for(subject)))
    assert error_code(error) == 26


def _with(subject: str, label: str, value: str) -> str:
    parts = [part.split("=", 1) for part in subject.split(",")]
    return ",".join(f"{k}={value if k == label else v}" for k, v in parts)


def _tampered(subject: str) -> str:
    csr = build_csr(subject, generate_key())
    der = bytearray(csr.public_bytes(serialization.Encoding.DER))
    der[-1] ^= 0x01  # the last byte belongs to the signature
    pem = (
        b"-----BEGIN CERTIFICATE REQUEST-----\n"
        + base64.encodebytes(bytes(der))
        + b"-----END CERTIFICATE REQUEST-----\n"
    )
    return base64.b64encode(pem).decode()


def _certificate_pem(_subject: str, ca_pem: bytes) -> str:
    return base64.b64encode(ca_pem).decode()


# case -> (what the client sends, given the announced subject and the CA PEM; a part of the
# message that says why it is refused)
BAD_REQUESTS = {
    "other organization": (lambda subject, _ca: csr_for(_with(subject, "O", "Evil")), "O is"),
    "other unit": (lambda subject, _ca: csr_for(_with(subject, "OU", "Evil")), "OU is"),
    "other locality": (lambda subject, _ca: csr_for(_with(subject, "L", "Evil")), "L is"),
    "other province": (lambda subject, _ca: csr_for(_with(subject, "ST", "Evil")), "ST is"),
    "other country": (lambda subject, _ca: csr_for(_with(subject, "C", "PL")), "C is"),
    "other common name": (
        lambda subject, _ca: csr_for(_with(subject, "CN", "7c1d4c5e-0000-4000-8000-000000000000")),
        "CN is",
    ),
    "missing field": (lambda subject, _ca: csr_for(subject.split(",", 1)[1]), "O is missing"),
    "extra field": (lambda subject, _ca: csr_for(f"{subject},OU=Extra"), "OU is"),
    "tampered signature": (lambda subject, _ca: _tampered(subject), "signature"),
    "rsa 1024": (lambda subject, _ca: csr_for(subject, generate_key(1024)), "1024"),
    "garbage base64": (lambda _subject, _ca: "this is %%% not base64 !!!", "base64"),
    "base64 of garbage": (
        lambda _subject, _ca: base64.b64encode(b"hello world").decode(),
        "not PEM",
    ),
    "certificate instead of csr": (_certificate_pem, "not a CERTIFICATE REQUEST"),
    "empty": (lambda _subject, _ca: "", "empty"),
    "unparsable pem": (
        lambda _subject, _ca: base64.b64encode(
            b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"
        ).decode(),
        "cannot be parsed",
    ),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
async def test_bad_request_is_invalid_data_and_keeps_the_token(api, app, case):
    token, subject = await _csr_token(api)
    make, reason = BAD_REQUESTS[case]
    bad = make(subject, app.state.compass.authority.certificate_pem)
    error = _only_error(await _sign(api, token, bad))
    assert error_code(error) == 22, error
    assert reason in error["message"], error
    assert error["extensions"]["error"] == "InvalidData"
    # The token was not used up: the right request still succeeds with it.
    body = await _sign(api, token, csr_for(subject))
    assert "errors" not in body, body
    certificate = decode_certificate(
        body["data"]["signCertificateSigningRequest"]["clientCertificate"]
    )
    assert certificate.subject == parse_subject(subject)


async def test_wrong_subject_names_the_field(api):
    token, subject = await _csr_token(api)
    error = _only_error(await _sign(api, token, csr_for(_with(subject, "OU", "Evil"))))
    assert "OU" in error["message"]
    assert "Evil" in error["message"]


async def test_csr_in_another_field_order_gets_the_announced_subject(api):
    token, subject = await _csr_token(api)
    parts = subject.split(",")
    reordered = ",".join([parts[4], *parts[:4], parts[5]])  # C first, as Go encodes it
    body = await _sign(api, token, csr_for(reordered))
    assert "errors" not in body, body
    certificate = decode_certificate(
        body["data"]["signCertificateSigningRequest"]["clientCertificate"]
    )
    assert certificate.subject == parse_subject(subject)


async def test_sign_with_the_pairing_token_of_another_owner_cannot_get_its_subject(api):
    mine, _mine_subject = await _csr_token(api)
    _theirs, their_subject = await _csr_token(api)
    error = _only_error(await _sign(api, mine, csr_for(their_subject)))
    assert error_code(error) == 22


async def test_concurrent_use_of_one_token_succeeds_once(api):
    token = await _token(api)
    bodies = await asyncio.gather(
        *(connector(api, token).post(CONFIGURATION, path=CONNECTOR_PATH) for _ in range(4))
    )
    succeeded = [body for body in bodies if "errors" not in body]
    assert len(succeeded) == 1, bodies
    for body in bodies:
        if "errors" in body:
            assert error_code(_only_error(body)) == 26, body


async def test_concurrent_signing_with_one_token_gives_one_certificate(api):
    token, subject = await _csr_token(api)
    bodies = await asyncio.gather(*(_sign(api, token, csr_for(subject)) for _ in range(3)))
    succeeded = [body for body in bodies if "errors" not in body]
    assert len(succeeded) == 1, bodies
    for body in bodies:
        if "errors" in body:
            assert error_code(_only_error(body)) == 26, body
