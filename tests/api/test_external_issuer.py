"""User tokens of an external OIDC issuer, verified with its JWKS."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from compass.app import create_app
from compass.config import DEFAULT_TENANT_ID, Settings
from compass.db import utcnow
from tests.conftest import error_code

ISSUER = "https://issuer.example"
AUDIENCE = "compass"
KEY_ID = "key-1"


@pytest.fixture(scope="module")
def issuer_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url(issuer_key: rsa.RSAPrivateKey) -> Iterator[str]:
    public = json.loads(RSAAlgorithm.to_jwk(issuer_key.public_key()))
    body = json.dumps({"keys": [{**public, "kid": KEY_ID, "use": "sig", "alg": "RS256"}]})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *_args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/jwks.json"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _external_token(key: rsa.RSAPrivateKey, **overrides: object) -> str:
    now = utcnow()
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice@example.com",
        "scopes": "application:read",
        "tenant": DEFAULT_TENANT_ID,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        **overrides,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KEY_ID})


@pytest.fixture
async def external_client(settings, jwks_url) -> Iterator[httpx.AsyncClient]:
    configured = settings.model_copy(
        update={"jwt_jwks_url": jwks_url, "jwt_issuer": ISSUER, "jwt_audience": AUDIENCE}
    )
    app = create_app(configured)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://compass.test") as client:
            yield client


async def _ask(client: httpx.AsyncClient, token: str, query: str) -> dict:
    response = await client.post(
        "/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {token}", "Tenant": DEFAULT_TENANT_ID},
    )
    return response.json()


async def test_token_of_the_external_issuer_is_accepted(external_client, issuer_key):
    body = await _ask(external_client, _external_token(issuer_key), "{ viewer { id type } }")
    assert body["data"]["viewer"] == {"id": "alice@example.com", "type": "USER"}
    body = await _ask(
        external_client, _external_token(issuer_key), "{ applications { totalCount } }"
    )
    assert body["data"]["applications"]["totalCount"] == 0


async def test_external_token_scopes_are_enforced(external_client, issuer_key):
    body = await _ask(external_client, _external_token(issuer_key), "{ runtimes { totalCount } }")
    assert error_code(body["errors"][0]) == 23


@pytest.mark.parametrize(
    "overrides", [{"aud": "someone-else"}, {"iss": "https://other.example"}, {"exp": 1}]
)
async def test_external_token_with_wrong_claims_is_refused(external_client, issuer_key, overrides):
    token = _external_token(issuer_key, **overrides)
    body = await _ask(external_client, token, "{ viewer { id } }")
    assert error_code(body["errors"][0]) == 26


async def test_external_token_signed_by_another_key_is_refused(external_client):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    body = await _ask(external_client, _external_token(stranger), "{ viewer { id } }")
    assert error_code(body["errors"][0]) == 26


async def test_external_token_without_tenant_claim_is_refused(external_client, issuer_key):
    """Else it could pick any tenant with the Tenant header."""
    token = _external_token(issuer_key)
    claims = jwt.decode(token, options={"verify_signature": False})
    del claims["tenant"]
    bare = jwt.encode(claims, issuer_key, algorithm="RS256", headers={"kid": KEY_ID})
    body = await _ask(external_client, bare, "{ applications { totalCount } }")
    assert error_code(body["errors"][0]) == 26
    assert "tenant claim" in body["errors"][0]["message"]


async def test_external_token_without_tenant_claim_gets_the_configured_one(
    settings, jwks_url, issuer_key
):
    configured = settings.model_copy(
        update={
            "jwt_jwks_url": jwks_url,
            "jwt_issuer": ISSUER,
            "jwt_audience": AUDIENCE,
            "jwt_default_tenant": DEFAULT_TENANT_ID,
        }
    )
    claims = jwt.decode(_external_token(issuer_key), options={"verify_signature": False})
    del claims["tenant"]
    bare = jwt.encode(claims, issuer_key, algorithm="RS256", headers={"kid": KEY_ID})
    app = create_app(configured)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://compass.test") as client:
            response = await client.post(
                "/graphql",
                json={"query": "{ applications { totalCount } }"},
                headers={"Authorization": f"Bearer {bare}"},
            )
    assert response.json()["data"]["applications"]["totalCount"] == 0


@pytest.mark.parametrize("missing", ["jwt_issuer", "jwt_audience"])
def test_a_jwks_url_without_issuer_and_audience_does_not_start(tmp_path, missing):
    values = {"jwt_jwks_url": "https://issuer.example/jwks", "jwt_issuer": ISSUER}
    values["jwt_audience"] = AUDIENCE
    del values[missing]
    with pytest.raises(ValueError, match="needs COMPASS_JWT_ISSUER and COMPASS_JWT_AUDIENCE"):
        Settings(data_dir=tmp_path, **values)
