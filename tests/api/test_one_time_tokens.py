"""requestOneTimeTokenForApplication / ForRuntime: what they hand out, who may
ask, and the system auth each token creates."""

from __future__ import annotations

import base64
import json

import pytest

from tests.api.tenancy import create_tenant
from tests.api.trust import (
    CONFIGURATION,
    CONNECTOR_PATH,
    TOKEN_FOR,
    compass_api,
    connector,
    one_time_token,
    register_application,
    register_runtime,
)
from tests.conftest import error_code

MISSING_ID = "7c1d4c5e-0000-4000-8000-000000000000"
CONNECTOR_URL = "http://127.0.0.1:3000/connector/graphql"
APP_AUTHS = "query($id: ID!) { application(id: $id) { auths { id auth { additionalHeaders } } } }"
RUNTIME_AUTHS = "query($id: ID!) { runtime(id: $id) { auths { id auth { additionalHeaders } } } }"


async def _register(api, kind: str) -> str:
    if kind == "Application":
        return await register_application(api, "shop")
    return await register_runtime(api, "cluster")


async def test_application_token_in_every_form(api):
    app_id = await register_application(api, "shop")
    token = await one_time_token(api, "Application", app_id)
    assert len(token["token"]) >= 32
    assert token["connectorURL"] == CONNECTOR_URL
    assert token["legacyConnectorURL"] == f"{CONNECTOR_URL}?token={token['token']}"
    raw = json.loads(token["raw"])
    assert raw == {"token": token["token"], "connectorURL": CONNECTOR_URL}
    assert base64.b64decode(token["rawEncoded"]).decode() == token["raw"]


async def test_runtime_token_in_every_form(api):
    runtime_id = await register_runtime(api, "cluster")
    token = await one_time_token(api, "Runtime", runtime_id)
    assert len(token["token"]) >= 32
    assert token["connectorURL"] == CONNECTOR_URL
    assert json.loads(token["raw"]) == {"token": token["token"], "connectorURL": CONNECTOR_URL}
    assert base64.b64decode(token["rawEncoded"]).decode() == token["raw"]


async def test_runtime_token_has_no_legacy_url(api):
    runtime_id = await register_runtime(api, "cluster")
    error = await api.error(
        "mutation($id: ID!) { requestOneTimeTokenForRuntime(id: $id) { legacyConnectorURL } }",
        {"id": runtime_id},
    )
    assert "legacyConnectorURL" in error["message"]


async def test_connector_url_follows_public_url(settings):
    async with compass_api(settings, public_url="https://compass.example.com/") as api:
        app_id = await register_application(api, "shop")
        token = await one_time_token(api, "Application", app_id)
    assert token["connectorURL"] == "https://compass.example.com/connector/graphql"
    assert json.loads(token["raw"])["connectorURL"] == token["connectorURL"]


@pytest.mark.parametrize("kind", ["Application", "Runtime"])
async def test_every_request_gives_a_new_token(api, kind):
    owner_id = await _register(api, kind)
    first = await one_time_token(api, kind, owner_id)
    second = await one_time_token(api, kind, owner_id)
    assert first["token"] != second["token"]


@pytest.mark.parametrize("kind", ["Application", "Runtime"])
async def test_token_for_missing_owner_is_not_found(api, kind):
    error = await api.error(TOKEN_FOR[kind], {"id": MISSING_ID})
    assert error_code(error) == 20


@pytest.mark.parametrize("kind", ["Application", "Runtime"])
async def test_token_for_owner_of_another_tenant_is_not_found(api, settings, kind):
    await create_tenant(settings, "other", "other-tenant")
    foreign = api.mint(tenant="other-tenant")
    if kind == "Application":
        owner_id = await register_application(api, "theirs", token=foreign)
    else:
        owner_id = await register_runtime(api, "theirs", token=foreign)
    error = await api.error(TOKEN_FOR[kind], {"id": owner_id})
    assert error_code(error) == 20
    # The owner's own tenant may.
    assert (await one_time_token(api, kind, owner_id, token=foreign))["token"]


async def test_application_of_the_wrong_kind_is_not_found(api):
    runtime_id = await register_runtime(api, "cluster")
    app_id = await register_application(api, "shop")
    assert error_code(await api.error(TOKEN_FOR["Application"], {"id": runtime_id})) == 20
    assert error_code(await api.error(TOKEN_FOR["Runtime"], {"id": app_id})) == 20


@pytest.mark.parametrize(
    ("kind", "needed"), [("Application", "application:write"), ("Runtime", "runtime:write")]
)
async def test_token_needs_the_write_scope(api, kind, needed):
    owner_id = await _register(api, kind)
    read_only = api.mint(scopes=["application:read", "runtime:read"])
    error = await api.error(TOKEN_FOR[kind], {"id": owner_id}, token=read_only)
    assert error_code(error) == 23
    assert needed in error["message"]
    query = APP_AUTHS if kind == "Application" else RUNTIME_AUTHS
    data = await api.data(query, {"id": owner_id})
    assert data[kind.lower()]["auths"] == []
    allowed = api.mint(scopes=[needed])
    assert (await one_time_token(api, kind, owner_id, token=allowed))["token"]


async def test_token_needs_credentials(api):
    app_id = await register_application(api, "shop")
    error = await api.error(TOKEN_FOR["Application"], {"id": app_id}, token="")
    assert error_code(error) == 26


@pytest.mark.parametrize("kind", ["Application", "Runtime"])
async def test_token_creates_a_system_auth_named_in_the_subject(api, kind):
    owner_id = await _register(api, kind)
    query = APP_AUTHS if kind == "Application" else RUNTIME_AUTHS
    assert (await api.data(query, {"id": owner_id}))[kind.lower()]["auths"] == []
    token = (await one_time_token(api, kind, owner_id))["token"]
    auths = (await api.data(query, {"id": owner_id}))[kind.lower()]["auths"]
    assert len(auths) == 1
    assert auths[0]["auth"] is None  # a certificate pairing, not an OAuth client
    configuration = await connector(api, token).data(CONFIGURATION, path=CONNECTOR_PATH)
    subject = configuration["configuration"]["certificateSigningRequestInfo"]["subject"]
    assert subject.endswith(f",CN={auths[0]['id']}")


async def test_each_token_has_its_own_system_auth(api):
    app_id = await register_application(api, "shop")
    other_id = await register_application(api, "other")
    await one_time_token(api, "Application", app_id)
    await one_time_token(api, "Application", app_id)
    await one_time_token(api, "Application", other_id)
    auths = (await api.data(APP_AUTHS, {"id": app_id}))["application"]["auths"]
    other = (await api.data(APP_AUTHS, {"id": other_id}))["application"]["auths"]
    assert len(auths) == 2
    assert len({a["id"] for a in auths}) == 2
    assert len(other) == 1
    assert other[0]["id"] not in {a["id"] for a in auths}
