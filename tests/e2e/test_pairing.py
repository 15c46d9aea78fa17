"""Pairing an application with a real `compass serve`: one-time token,
configuration, CSR, certificate, then calls over mutual TLS with real
certificates; renewal, revocation, foreign certificates and the example script.

The application side uses only httpx and cryptography (tests/e2e/application_client.py).
"""

from __future__ import annotations

import base64
import json
import ssl
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.e2e import application_client as app_client
from tests.e2e.server import AdminClient, Server, clean_env, mint_token, running_server

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "pair_application.py"
UNAUTHORIZED = 26

VIEWER = "{ viewer { id type } }"
ADD_BUNDLE = """mutation($app: ID!, $in: BundleCreateInput!) {
  addBundle(applicationID: $app, in: $in) { id name } }"""
OWN_APPLICATIONS = "{ applications { totalCount data { id } } }"
APPLICATION = """query($id: ID!) { application(id: $id) {
  status { condition } bundles { totalCount data { name } } auths { id } } }"""
TOKEN = """mutation($id: ID!) { requestOneTimeTokenForApplication(id: $id) {
  token connectorURL raw rawEncoded legacyConnectorURL } }"""
CLIENT_CREDENTIALS = """mutation($id: ID!) { requestClientCredentialsForApplication(id: $id) {
  id auth { credential { ... on OAuthCredentialData { clientId clientSecret url } } } } }"""
USED_TOKEN = "the one-time token is unknown, used or expired"
PROXY_HEADER = "X-Forwarded-Client-Cert"
TRANSPORT_REFUSALS = (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("pairing")
    with running_server(directory / "data", directory / "serve.log") as running:
        yield running
    assert "Traceback" not in running.output()


@pytest.fixture(scope="module")
def admin(server: Server) -> Iterator[AdminClient]:
    with AdminClient(server.base_url, mint_token(server.data_dir)) as client:
        yield client


@pytest.fixture
def public() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=app_client.TIMEOUT) as client:
        yield client


def _register(admin: AdminClient, name: str) -> str:
    data = admin.data(
        "mutation($in: ApplicationRegisterInput!) { registerApplication(in: $in) { id } }",
        {"in": {"name": name}},
    )
    return data["registerApplication"]["id"]


def _one_time_token(admin: AdminClient, application_id: str) -> dict[str, Any]:
    return admin.data(TOKEN, {"id": application_id})["requestOneTimeTokenForApplication"]


def _application(admin: AdminClient, application_id: str) -> dict[str, Any]:
    return admin.data(APPLICATION, {"id": application_id})["application"]


def _pair(
    client: httpx.Client, token: dict[str, Any], directory: Path
) -> tuple[app_client.Pairing, app_client.Credentials]:
    pairing = app_client.pairing_of(
        app_client.configuration(client, token["connectorURL"], token["token"])
    )
    key, csr = app_client.new_csr(pairing.subject)
    signed = app_client.sign(client, token["connectorURL"], csr, pairing.csr_token)
    return pairing, app_client.credentials_of(signed, key, directory)


def _tls12(credentials: app_client.Credentials) -> ssl.SSLContext:
    context = credentials.ssl_context()
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    return context


def _refused(answer: app_client.GraphQLAnswer, field: str, reason: str = "") -> None:
    """Refused as Unauthorized (26), with `reason` in the message, and no result."""
    assert answer.status == 200
    assert answer.data is None or answer.data.get(field) is None, answer.data
    assert answer.error_codes() == [UNAUTHORIZED], answer.errors
    assert reason in answer.errors[0]["message"], answer.errors


def test_token_announces_the_connector_and_encodes_itself(
    server: Server, admin: AdminClient
) -> None:
    application_id = _register(admin, "token-shape")
    token = _one_time_token(admin, application_id)

    assert token["connectorURL"] == f"{server.base_url}/connector/graphql"
    raw = {"token": token["token"], "connectorURL": token["connectorURL"]}
    assert json.loads(token["raw"]) == raw
    assert json.loads(base64.b64decode(token["rawEncoded"])) == raw
    assert token["legacyConnectorURL"] == f"{token['connectorURL']}?token={token['token']}"


def test_legacy_connector_url_works_and_its_token_stays_out_of_the_log(
    server: Server, admin: AdminClient, public: httpx.Client
) -> None:
    token = _one_time_token(admin, _register(admin, "legacy-url"))
    response = public.post(
        token["legacyConnectorURL"],
        json={"query": "{ configuration() { certificateSigningRequestInfo { subject } } }"},
    )
    assert response.status_code == 200
    subject = response.json()["data"]["configuration"]["certificateSigningRequestInfo"]["subject"]
    assert subject.startswith("O=Org,")
    log = server.output()
    assert "/connector/graphql?token=[redacted]" in log
    assert token["token"] not in log


def test_application_pairs_acts_only_on_itself_renews_and_revokes(
    server: Server, admin: AdminClient, public: httpx.Client, tmp_path: Path
) -> None:
    own_id = _register(admin, "paired-app")
    other_id = _register(admin, "other-app")
    token = _one_time_token(admin, own_id)
    assert _application(admin, own_id)["status"]["condition"] == "INITIAL"

    configured = app_client.configuration(public, token["connectorURL"], token["token"])
    pairing = app_client.pairing_of(configured)
    assert pairing.key_algorithm == "rsa2048"
    assert pairing.director_url == f"{server.mtls_url}/director/graphql"
    assert pairing.secured_connector_url == f"{server.mtls_url}/connector/graphql"
    assert pairing.subject.startswith("O=Org,OU=OrgUnit,L=locality,ST=province,C=DE,CN=")
    assert pairing.csr_token != token["token"]

    key, csr = app_client.new_csr(pairing.subject)
    signed = app_client.sign(public, token["connectorURL"], csr, pairing.csr_token)
    first = app_client.credentials_of(signed, key, tmp_path / "first")
    common_name = pairing.subject.rsplit("CN=", 1)[1]
    assert first.certificate.subject == app_client.subject_of(pairing.subject)
    assert [auth["id"] for auth in _application(admin, own_id)["auths"]] == [common_name]

    with app_client.mtls_client(first) as mtls:
        viewer = app_client.post(mtls, pairing.director_url, VIEWER).value("viewer")
        assert viewer == {"id": own_id, "type": "APPLICATION"}
        visible = app_client.post(mtls, pairing.director_url, OWN_APPLICATIONS)
        assert visible.value("applications") == {"totalCount": 1, "data": [{"id": own_id}]}

        added = app_client.post(
            mtls, pairing.director_url, ADD_BUNDLE, {"app": own_id, "in": {"name": "orders"}}
        )
        assert added.value("addBundle")["name"] == "orders"

        foreign = app_client.post(
            mtls, pairing.director_url, ADD_BUNDLE, {"app": other_id, "in": {"name": "intrusion"}}
        )
        _refused(foreign, "addBundle", "may not run addBundle on others")

    own = _application(admin, own_id)
    assert own["status"]["condition"] == "CONNECTED"
    assert own["bundles"] == {"totalCount": 1, "data": [{"name": "orders"}]}
    other = _application(admin, other_id)
    assert other["bundles"] == {"totalCount": 0, "data": []}
    assert other["status"]["condition"] == "INITIAL"

    # Renewal: the current certificate is the credential, no token.
    with app_client.mtls_client(first) as mtls:
        renewal_key, renewal_csr = app_client.new_csr(pairing.subject)
        renewed = app_client.sign(mtls, pairing.secured_connector_url, renewal_csr)
    second = app_client.credentials_of(renewed, renewal_key, tmp_path / "second")
    assert second.certificate.serial_number != first.certificate.serial_number
    assert second.certificate.subject == first.certificate.subject
    assert second.ca_pem == first.ca_pem

    with app_client.mtls_client(second) as mtls:
        assert app_client.post(mtls, pairing.director_url, VIEWER).value("viewer")["id"] == own_id

    # Revocation of the old certificate, by its holder.
    with app_client.mtls_client(first) as mtls:
        assert app_client.revoke(mtls, pairing.secured_connector_url).value("revokeCertificate")

    with app_client.mtls_client(first) as mtls:
        _refused(app_client.post(mtls, pairing.director_url, VIEWER), "viewer", "revoked")
        again_key, again_csr = app_client.new_csr(pairing.subject)
        renewal = app_client.sign(mtls, pairing.secured_connector_url, again_csr)
        _refused(renewal, "signCertificateSigningRequest", "revoked")
        late = app_client.post(
            mtls, pairing.director_url, ADD_BUNDLE, {"app": own_id, "in": {"name": "late"}}
        )
        _refused(late, "addBundle", "revoked")

    with app_client.mtls_client(second) as mtls:
        assert app_client.post(mtls, pairing.director_url, VIEWER).value("viewer")["id"] == own_id
        added = app_client.post(
            mtls, pairing.director_url, ADD_BUNDLE, {"app": own_id, "in": {"name": "payments"}}
        )
        assert added.value("addBundle")["name"] == "payments"
    names = sorted(b["name"] for b in _application(admin, own_id)["bundles"]["data"])
    assert names == ["orders", "payments"]


def test_one_time_tokens_work_once(admin: AdminClient, public: httpx.Client) -> None:
    application_id = _register(admin, "single-use")
    token = _one_time_token(admin, application_id)

    pairing = app_client.pairing_of(
        app_client.configuration(public, token["connectorURL"], token["token"])
    )
    _refused(
        app_client.configuration(public, token["connectorURL"], token["token"]),
        "configuration",
        USED_TOKEN,
    )

    key, csr = app_client.new_csr(pairing.subject)
    signed = app_client.sign(public, token["connectorURL"], csr, pairing.csr_token)
    assert signed.value("signCertificateSigningRequest")["clientCertificate"]
    _refused(
        app_client.sign(public, token["connectorURL"], csr, pairing.csr_token),
        "signCertificateSigningRequest",
        USED_TOKEN,
    )
    # The pairing token cannot sign either once it has been redeemed.
    _refused(
        app_client.sign(public, token["connectorURL"], csr, token["token"]),
        "signCertificateSigningRequest",
        USED_TOKEN,
    )


def test_certificate_from_a_foreign_ca_is_refused(
    admin: AdminClient, public: httpx.Client, tmp_path: Path
) -> None:
    application_id = _register(admin, "foreign-ca")
    pairing, credentials = _pair(public, _one_time_token(admin, application_id), tmp_path / "own")
    foreign = app_client.foreign_credentials(pairing.subject, credentials.ca_pem, tmp_path / "x")
    assert foreign.certificate.subject == credentials.certificate.subject

    with app_client.mtls_client(foreign) as mtls:
        try:
            answer = app_client.post(
                mtls, pairing.director_url, ADD_BUNDLE, {"app": application_id, "in": {"name": "f"}}
            )
        except TRANSPORT_REFUSALS:
            pass
        else:
            _refused(answer, "addBundle")

    # Up to TLS 1.2 the server's verdict comes inside the handshake itself.
    with httpx.Client(verify=_tls12(foreign), timeout=app_client.TIMEOUT) as mtls:
        with pytest.raises(httpx.ConnectError, match=r"\[SSL"):
            app_client.post(mtls, pairing.director_url, VIEWER)

    assert _application(admin, application_id)["bundles"]["totalCount"] == 0
    # The same handshakes with the certificate our CA issued succeed.
    for context in (credentials.ssl_context(), _tls12(credentials)):
        with httpx.Client(verify=context, timeout=app_client.TIMEOUT) as mtls:
            viewer = app_client.post(mtls, pairing.director_url, VIEWER).value("viewer")
        assert viewer["id"] == application_id


def test_deleting_the_system_auth_ends_its_certificates(
    admin: AdminClient, public: httpx.Client, tmp_path: Path
) -> None:
    application_id = _register(admin, "deleted-auth")
    pairing, credentials = _pair(public, _one_time_token(admin, application_id), tmp_path)
    with app_client.mtls_client(credentials) as mtls:
        assert app_client.post(mtls, pairing.director_url, VIEWER).value("viewer")

    auth_id = pairing.subject.rsplit("CN=", 1)[1]
    deleted = admin.data(
        "mutation($id: ID!) { deleteSystemAuthForApplication(authID: $id) { id } }", {"id": auth_id}
    )
    assert deleted["deleteSystemAuthForApplication"]["id"] == auth_id
    assert _application(admin, application_id)["auths"] == []

    with app_client.mtls_client(credentials) as mtls:
        _refused(app_client.post(mtls, pairing.director_url, VIEWER), "viewer", "not known")


@pytest.mark.parametrize(
    ("trusted_proxies", "trusted"), [("127.0.0.0/8", True), ("10.0.0.0/8,192.0.2.1", False)]
)
def test_certificate_forwarded_by_a_proxy_counts_only_from_trusted_addresses(
    tmp_path: Path, public: httpx.Client, trusted_proxies: str, trusted: bool
) -> None:
    settings = {
        "COMPASS_TRUSTED_PROXY_CERT_HEADER": PROXY_HEADER,
        "COMPASS_TRUSTED_PROXIES": trusted_proxies,
    }
    with running_server(tmp_path / "data", tmp_path / "serve.log", settings) as proxied:
        with AdminClient(proxied.base_url, mint_token(proxied.data_dir)) as admin:
            application_id = _register(admin, "behind-proxy")
            token = _one_time_token(admin, application_id)
        pairing, credentials = _pair(public, token, tmp_path / "own")
        foreign = app_client.foreign_credentials(
            pairing.subject, credentials.ca_pem, tmp_path / "x"
        )
        director = f"{proxied.base_url}/director/graphql"

        def viewer_with(certificate_pem: bytes) -> app_client.GraphQLAnswer:
            header = {PROXY_HEADER: quote(certificate_pem.decode(), safe="")}
            return app_client.post(public, director, VIEWER, headers=header)

        own = viewer_with(credentials.leaf_pem)
        if trusted:
            assert own.value("viewer") == {"id": application_id, "type": "APPLICATION"}
        else:
            _refused(own, "viewer", "only from trusted proxies")
        _refused(viewer_with(foreign.leaf_pem), "viewer")
        _refused(viewer_with(b"not a certificate"), "viewer")
    assert "Traceback" not in proxied.output()


def test_client_credentials_give_an_access_token(
    server: Server, admin: AdminClient, public: httpx.Client
) -> None:
    application_id = _register(admin, "oauth-client")
    created = admin.data(
        CLIENT_CREDENTIALS,
        {"id": application_id},
    )["requestClientCredentialsForApplication"]
    credential = created["auth"]["credential"]
    assert credential["clientId"] == created["id"]
    assert credential["url"] == f"{server.base_url}/oauth2/token"

    issued = public.post(
        credential["url"],
        data={"grant_type": "client_credentials"},
        auth=(credential["clientId"], credential["clientSecret"]),
    )
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert body["token_type"] == "bearer"
    assert set(body["scope"].split()) == {"application:read", "application:write"}

    wrong = public.post(
        credential["url"],
        data={"grant_type": "client_credentials"},
        auth=(credential["clientId"], "not-the-secret"),
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"

    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    url = f"{server.base_url}/graphql"
    viewer = app_client.post(public, url, VIEWER, headers=bearer).value("viewer")
    assert viewer == {"id": application_id, "type": "APPLICATION"}

    admin.data(
        "mutation($id: ID!) { deleteSystemAuthForApplication(authID: $id) { id } }",
        {"id": created["id"]},
    )
    _refused(app_client.post(public, url, VIEWER, headers=bearer), "viewer", "were deleted")


def test_example_script_pairs_an_application(admin: AdminClient, tmp_path: Path) -> None:
    application_id = _register(admin, "example-app")
    token = _one_time_token(admin, application_id)
    out = tmp_path / "credentials"

    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--raw-encoded", token["rawEncoded"], "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"paired as APPLICATION {application_id}" in result.stdout
    assert stat.S_IMODE((out / "key.pem").stat().st_mode) == 0o600
    assert {path.name for path in out.iterdir()} >= {"key.pem", "cert.pem", "ca.pem"}
    assert _application(admin, application_id)["status"]["condition"] == "CONNECTED"

    again = subprocess.run(
        [sys.executable, str(EXAMPLE), "--raw-encoded", token["rawEncoded"], "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
        cwd=tmp_path,
    )
    assert again.returncode != 0
    assert USED_TOKEN in again.stderr
