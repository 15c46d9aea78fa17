"""OAuth clients of applications, runtimes and integration systems: creating
them, the token endpoint, their access tokens on /graphql, and deleting them.
Also that no token or secret is kept in clear in the database."""

from __future__ import annotations

import base64
import json

import pytest
import sqlalchemy as sa

from compass.config import DEFAULT_TENANT_ID
from compass.db import create_engine
from tests.api.pki_client import csr_for
from tests.api.tenancy import create_tenant
from tests.api.trust import (
    compass_api,
    one_time_token,
    register_application,
    register_runtime,
)
from tests.conftest import Api, error_code

TOKEN_PATH = "/oauth2/token"
CREDENTIAL = "auth { credential { ... on OAuthCredentialData { clientId clientSecret url } } }"
REQUEST = {
    kind: (
        f"mutation($id: ID!) {{ requestClientCredentialsFor{kind}(id: $id) {{ id {CREDENTIAL} }} }}"
    )
    for kind in ["Application", "Runtime", "IntegrationSystem"]
}
DELETE = {
    kind: f"mutation($id: ID!) {{ deleteSystemAuthFor{kind}(authID: $id) {{ id {CREDENTIAL} }} }}"
    for kind in ["Application", "Runtime", "IntegrationSystem"]
}
AUTHS = {
    "Application": f"query($id: ID!) {{ application(id: $id) {{ auths {{ id {CREDENTIAL} }} }} }}",
    "Runtime": f"query($id: ID!) {{ runtime(id: $id) {{ auths {{ id {CREDENTIAL} }} }} }}",
    "IntegrationSystem": (
        f"query($id: ID!) {{ integrationSystem(id: $id) {{ auths {{ id {CREDENTIAL} }} }} }}"
    ),
}
VIEWER = "{ viewer { id type } }"
APPLICATIONS = "{ applications { totalCount data { id name } } }"
RUNTIMES = "{ runtimes { totalCount data { id name } } }"
SCOPES = {
    "Application": "application:read application:write",
    "Runtime": "application:read runtime:read runtime:write",
}
MISSING_ID = "7c1d4c5e-0000-4000-8000-000000000000"


async def register_integration_system(api: Api, name: str = "erp") -> str:
    data = await api.data(
        "mutation($in: IntegrationSystemInput!) { registerIntegrationSystem(in: $in) { id } }",
        {"in": {"name": name}},
    )
    return data["registerIntegrationSystem"]["id"]


async def register(api: Api, kind: str, name: str = "owner") -> str:
    if kind == "Application":
        return await register_application(api, name)
    if kind == "Runtime":
        return await register_runtime(api, name)
    return await register_integration_system(api, name)


async def client_for(api: Api, kind: str, owner_id: str) -> dict:
    data = await api.data(REQUEST[kind], {"id": owner_id})
    return data[f"requestClientCredentialsFor{kind}"]


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


async def access_token(api: Api, credential: dict) -> str:
    response = await api.client.post(
        TOKEN_PATH,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic(credential["clientId"], credential["clientSecret"])},
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def as_client(api: Api, token: str) -> Api:
    return Api(api.client, api.settings, token=token)


# Creating clients


@pytest.mark.parametrize("kind", ["Application", "Runtime", "IntegrationSystem"])
async def test_new_client_shows_its_secret_once(api, kind):
    owner_id = await register(api, kind)
    created = await client_for(api, kind, owner_id)
    credential = created["auth"]["credential"]
    assert credential["clientId"] == created["id"]
    assert len(credential["clientSecret"]) >= 32
    assert credential["url"] == "http://127.0.0.1:3000/oauth2/token"
    owner = (await api.data(AUTHS[kind], {"id": owner_id}))[
        "integrationSystem" if kind == "IntegrationSystem" else kind.lower()
    ]
    assert owner["auths"] == [
        {
            "id": created["id"],
            "auth": {"credential": {**credential, "clientSecret": ""}},
        }
    ]


async def test_every_client_has_its_own_id_and_secret(api):
    app_id = await register_application(api, "shop")
    first = (await client_for(api, "Application", app_id))["auth"]["credential"]
    second = (await client_for(api, "Application", app_id))["auth"]["credential"]
    assert first["clientId"] != second["clientId"]
    assert first["clientSecret"] != second["clientSecret"]


@pytest.mark.parametrize("kind", ["Application", "Runtime", "IntegrationSystem"])
async def test_client_for_missing_owner_is_not_found(api, kind):
    error = await api.error(REQUEST[kind], {"id": MISSING_ID})
    assert error_code(error) == 20


@pytest.mark.parametrize("kind", ["Application", "Runtime"])
async def test_client_for_owner_of_another_tenant_is_not_found(api, settings, kind):
    await create_tenant(settings, "other", "other-tenant")
    foreign = api.mint(tenant="other-tenant")
    if kind == "Application":
        owner_id = await register_application(api, "theirs", token=foreign)
    else:
        owner_id = await register_runtime(api, "theirs", token=foreign)
    assert error_code(await api.error(REQUEST[kind], {"id": owner_id})) == 20


@pytest.mark.parametrize(
    ("kind", "needed"),
    [
        ("Application", "application:write"),
        ("Runtime", "runtime:write"),
        ("IntegrationSystem", "integration_system:write"),
    ],
)
async def test_client_needs_the_write_scope(api, kind, needed):
    owner_id = await register(api, kind)
    reader = api.mint(scopes=["application:read", "runtime:read", "integration_system:read"])
    error = await api.error(REQUEST[kind], {"id": owner_id}, token=reader)
    assert error_code(error) == 23
    assert needed in error["message"]


# The token endpoint


async def test_token_endpoint_with_basic_authentication(api):
    app_id = await register_application(api, "shop")
    credential = (await client_for(api, "Application", app_id))["auth"]["credential"]
    response = await api.client.post(
        TOKEN_PATH,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic(credential["clientId"], credential["clientSecret"])},
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == SCOPES["Application"]
    assert body["access_token"].count(".") == 2


async def test_token_endpoint_with_form_credentials(api):
    runtime_id = await register_runtime(api, "cluster")
    credential = (await client_for(api, "Runtime", runtime_id))["auth"]["credential"]
    response = await api.client.post(
        TOKEN_PATH,
        data={
            "grant_type": "client_credentials",
            "client_id": credential["clientId"],
            "client_secret": credential["clientSecret"],
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == SCOPES["Runtime"]
    assert response.json()["token_type"] == "bearer"


async def test_token_lifetime_follows_the_settings(settings):
    async with compass_api(settings, client_token_minutes=5) as api:
        app_id = await register_application(api, "shop")
        credential = (await client_for(api, "Application", app_id))["auth"]["credential"]
        response = await api.client.post(
            TOKEN_PATH,
            data={"grant_type": "client_credentials"},
            auth=(credential["clientId"], credential["clientSecret"]),
        )
    assert response.json()["expires_in"] == 300


@pytest.mark.parametrize("how", ["basic", "form"])
async def test_wrong_secret_is_invalid_client(api, how):
    app_id = await register_application(api, "shop")
    credential = (await client_for(api, "Application", app_id))["auth"]["credential"]
    form = {"grant_type": "client_credentials"}
    headers = {}
    if how == "basic":
        headers["Authorization"] = basic(credential["clientId"], "wrong")
    else:
        form |= {"client_id": credential["clientId"], "client_secret": "wrong"}
    response = await api.client.post(TOKEN_PATH, data=form, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].lower().startswith("basic")
    assert credential["clientSecret"] not in response.text


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": basic(MISSING_ID, "secret")},
        {"Authorization": "Basic not-base64!"},
        {"Authorization": "Bearer something"},
    ],
)
async def test_unknown_or_missing_client_is_invalid_client(api, headers):
    response = await api.client.post(
        TOKEN_PATH, data={"grant_type": "client_credentials"}, headers=headers
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "www-authenticate" in response.headers


async def test_one_time_token_is_not_a_client_secret(api):
    app_id = await register_application(api, "shop")
    token = (await one_time_token(api, "Application", app_id))["token"]
    auths = (await api.data(AUTHS["Application"], {"id": app_id}))["application"]["auths"]
    response = await api.client.post(
        TOKEN_PATH,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic(auths[0]["id"], token)},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize("grant", ["password", "authorization_code", ""])
async def test_other_grant_types_are_unsupported(api, grant):
    app_id = await register_application(api, "shop")
    credential = (await client_for(api, "Application", app_id))["auth"]["credential"]
    response = await api.client.post(
        TOKEN_PATH,
        data={"grant_type": grant, "username": "a", "password": "b"},
        headers={"Authorization": basic(credential["clientId"], credential["clientSecret"])},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_token_endpoint_takes_only_post(api):
    response = await api.client.get(TOKEN_PATH)
    assert response.status_code == 405


# Access tokens on /graphql


async def test_application_token_acts_as_the_application(api):
    other_id = await register_application(api, "other")
    app_id = await register_application(api, "shop")
    credential = (await client_for(api, "Application", app_id))["auth"]["credential"]
    me = as_client(api, await access_token(api, credential))
    assert (await me.data(VIEWER))["viewer"] == {"id": app_id, "type": "APPLICATION"}
    assert (await me.data(APPLICATIONS))["applications"] == {
        "totalCount": 1,
        "data": [{"id": app_id, "name": "shop"}],
    }
    found = await me.data("query($id: ID!) { application(id: $id) { id } }", {"id": other_id})
    assert found["application"] is None
    error = await me.error(
        'mutation($id: ID!) { updateApplication(id: $id, in: {description: "x"}) { id } }',
        {"id": other_id},
    )
    assert error_code(error) == 26
    own = await me.data(
        'mutation($id: ID!) { addBundle(applicationID: $id, in: {name: "b"}) { name } }',
        {"id": app_id},
    )
    assert own["addBundle"]["name"] == "b"
    assert error_code(await me.error(RUNTIMES)) == 23


async def test_application_token_is_bound_to_its_tenant(api, settings):
    await create_tenant(settings, "other", "other-tenant")
    app_id = await register_application(api, "shop")
    credential = (await client_for(api, "Application", app_id))["auth"]["credential"]
    me = as_client(api, await access_token(api, credential))
    assert error_code(await me.error(APPLICATIONS, tenant="other-tenant")) == 26
    assert error_code(await me.error(APPLICATIONS, tenant="no-such-tenant")) == 26
    own = await me.data(APPLICATIONS, tenant=DEFAULT_TENANT_ID)
    assert own["applications"]["totalCount"] == 1


async def test_runtime_token_acts_as_the_runtime(api):
    other_id = await register_runtime(api, "other")
    runtime_id = await register_runtime(api, "cluster", {"labels": {"scenarios": ["DEFAULT"]}})
    app_id = await register_application(api, "shop")
    credential = (await client_for(api, "Runtime", runtime_id))["auth"]["credential"]
    me = as_client(api, await access_token(api, credential))
    assert (await me.data(VIEWER))["viewer"] == {"id": runtime_id, "type": "RUNTIME"}
    assert (await me.data(RUNTIMES))["runtimes"]["data"] == [{"id": runtime_id, "name": "cluster"}]
    assert (await me.data(APPLICATIONS))["applications"]["data"] == [{"id": app_id, "name": "shop"}]
    error = await me.error(
        'mutation($id: ID!) { updateRuntime(id: $id, in: {name: "x"}) { id } }', {"id": other_id}
    )
    assert error_code(error) == 26


async def test_integration_system_token_acts_for_tenants_it_names(api, settings):
    await create_tenant(settings, "other", "other-tenant")
    system_id = await register_integration_system(api)
    await register_application(api, "shop")
    credential = (await client_for(api, "IntegrationSystem", system_id))["auth"]["credential"]
    body = (
        await api.client.post(
            TOKEN_PATH,
            data={"grant_type": "client_credentials"},
            auth=(credential["clientId"], credential["clientSecret"]),
        )
    ).json()
    assert "application:write" in body["scope"].split()
    assert "tenant:read" not in body["scope"].split()
    me = as_client(api, body["access_token"])
    assert (await me.data(VIEWER))["viewer"] == {"id": system_id, "type": "INTEGRATION_SYSTEM"}
    assert error_code(await me.error(APPLICATIONS)) == 24
    page = (await me.data(APPLICATIONS, tenant=DEFAULT_TENANT_ID))["applications"]
    assert [a["name"] for a in page["data"]] == ["shop"]
    # Another tenant is granted once one of its applications names the system.
    other_admin = api.mint(tenant="other-tenant")
    assert error_code(await me.error(APPLICATIONS, tenant="other-tenant")) == 26
    await register_application(
        api, "named", {"integrationSystemID": system_id}, token=other_admin
    )
    created = await me.data(
        'mutation { registerApplication(in: {name: "managed"}) { id name } }',
        tenant="other-tenant",
    )
    assert created["registerApplication"]["name"] == "managed"
    theirs = await api.data(APPLICATIONS, token=other_admin)
    assert sorted(a["name"] for a in theirs["applications"]["data"]) == ["managed", "named"]
    assert error_code(await me.error("{ tenants { id } }")) == 23


@pytest.mark.parametrize("kind", ["Application", "Runtime", "IntegrationSystem"])
async def test_deleted_client_ends_its_tokens(api, kind):
    owner_id = await register(api, kind)
    created = await client_for(api, kind, owner_id)
    credential = created["auth"]["credential"]
    me = as_client(api, await access_token(api, credential))
    assert (await me.data(VIEWER))["viewer"]["id"] == owner_id
    deleted = await api.data(DELETE[kind], {"id": created["id"]})
    removed = deleted[f"deleteSystemAuthFor{kind}"]
    assert removed["id"] == created["id"]
    assert removed["auth"]["credential"]["clientSecret"] == ""
    error = await me.error(VIEWER)
    assert error_code(error) == 26
    response = await api.client.post(
        TOKEN_PATH,
        data={"grant_type": "client_credentials"},
        auth=(credential["clientId"], credential["clientSecret"]),
    )
    assert response.status_code == 401
    assert error_code(await api.error(DELETE[kind], {"id": created["id"]})) == 20


async def test_client_of_another_kind_or_tenant_cannot_be_deleted(api, settings):
    await create_tenant(settings, "other", "other-tenant")
    foreign = api.mint(tenant="other-tenant")
    theirs = await register_application(api, "theirs", token=foreign)
    their_client = await api.data(REQUEST["Application"], {"id": theirs}, token=foreign)
    their_id = their_client["requestClientCredentialsForApplication"]["id"]
    runtime_id = await register_runtime(api, "cluster")
    runtime_client = (await client_for(api, "Runtime", runtime_id))["id"]
    system_client = (await client_for(api, "IntegrationSystem", await register(api, "Is")))["id"]
    for kind, auth_id in [
        ("Application", their_id),
        ("Application", runtime_client),
        ("Application", system_client),
        ("Runtime", system_client),
        ("IntegrationSystem", runtime_client),
    ]:
        assert error_code(await api.error(DELETE[kind], {"id": auth_id})) == 20, (kind, auth_id)
    assert (await api.data(AUTHS["Runtime"], {"id": runtime_id}))["runtime"]["auths"][0][
        "id"
    ] == runtime_client
    still = await api.data(AUTHS["Application"], {"id": theirs}, token=foreign)
    assert [a["id"] for a in still["application"]["auths"]] == [their_id]


async def test_forged_client_token_is_refused(api):
    app_id = await register_application(api, "shop")
    credential = (await client_for(api, "Application", app_id))["auth"]["credential"]
    token = await access_token(api, credential)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["compass_system_auth"] = claims["sub"] = MISSING_ID
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    forged = f"{header}.{forged_payload}.{signature}"
    assert error_code(await as_client(api, forged).error(VIEWER)) == 26


# Secrets at rest


async def _table_text(settings, table: str) -> str:
    engine = create_engine(settings.sqlalchemy_url())
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(sa.text(f"SELECT * FROM {table}"))).all()
    finally:
        await engine.dispose()
    assert rows, f"{table} is empty"
    return "\n".join(repr(tuple(row)) for row in rows)


async def test_tokens_and_secrets_are_not_stored_in_clear(api, settings):
    app_id = await register_application(api, "shop")
    issued = await one_time_token(api, "Application", app_id)
    configuration = await Api(
        api.client, api.settings, token="", default_headers={"Connector-Token": issued["token"]}
    ).data(
        "{ configuration { token { token } } }",
        path="/connector/graphql",
    )
    csr_token = configuration["configuration"]["token"]["token"]
    secret = (await client_for(api, "Application", app_id))["auth"]["credential"]["clientSecret"]
    dump = await _table_text(settings, "one_time_tokens") + await _table_text(
        settings, "system_auths"
    )
    for value in (issued["token"], csr_token, secret):
        assert value not in dump
        assert base64.b64encode(value.encode()).decode() not in dump
        assert value.encode().hex() not in dump


async def test_client_token_cannot_obtain_or_revoke_certificates(api):
    app_id = await register_application(api, "shop")
    credential = (await client_for(api, "Application", app_id))["auth"]["credential"]
    me = as_client(api, await access_token(api, credential))
    subject = f"O=Org,OU=OrgUnit,L=locality,ST=province,C=DE,CN={credential['clientId']}"
    for query, variables in [
        ("{ configuration { token { token } } }", None),
        (
            "mutation($csr: String!) { signCertificateSigningRequest(csr: $csr) "
            "{ clientCertificate } }",
            {"csr": csr_for(subject)},
        ),
        ("mutation { revokeCertificate }", None),
    ]:
        error = await me.error(query, variables, path="/connector/graphql")
        assert error_code(error) == 26, (query, error)


async def test_integration_system_pairs_applications_of_the_tenant_it_names(api, settings):
    system_id = await register_integration_system(api)
    app_id = await register_application(api, "shop", {"integrationSystemID": system_id})
    credential = (await client_for(api, "IntegrationSystem", system_id))["auth"]["credential"]
    me = as_client(api, await access_token(api, credential))
    error = await me.error(
        "mutation($id: ID!) { requestOneTimeTokenForApplication(id: $id) { token } }",
        {"id": app_id},
    )
    assert error_code(error) == 24
    issued = await one_time_token(me, "Application", app_id, tenant=DEFAULT_TENANT_ID)
    assert issued["token"]
    assert error_code(await me.error(APPLICATIONS, tenant="no-such-tenant")) == 25
    # It may not give itself more credentials.
    error = await me.error(REQUEST["IntegrationSystem"], {"id": system_id})
    assert error_code(error) == 23


async def test_pairing_system_auth_is_not_an_oauth_client(api):
    app_id = await register_application(api, "shop")
    await one_time_token(api, "Application", app_id)
    auths = (await api.data(AUTHS["Application"], {"id": app_id}))["application"]["auths"]
    for headers, form in [
        ({"Authorization": basic(auths[0]["id"], "")}, {}),
        ({}, {"client_id": auths[0]["id"], "client_secret": ""}),
        ({}, {"client_id": auths[0]["id"]}),
    ]:
        response = await api.client.post(
            TOKEN_PATH, data={"grant_type": "client_credentials", **form}, headers=headers
        )
        assert response.status_code == 401, (headers, form)
        assert response.json()["error"] == "invalid_client"
