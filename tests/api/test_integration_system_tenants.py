"""Integration systems act only in the tenants that granted them, mint
credentials only for applications that name them, and global objects made by
a tenant-bound administrator stay that tenant's to change."""

from __future__ import annotations

import base64

import pytest

from tests.api.tenancy import create_tenant
from tests.api.trust import BEHIND_PROXY, compass_api, paired_application, register_application
from tests.conftest import Api, error_code

A, B = "tenant-a", "tenant-b"
APPLICATIONS = "{ applications { data { id name } } }"
UPDATE_APP = """mutation($id: ID!) {
    updateApplication(id: $id, in: {description: "changed"}) { id description }
}"""
REGISTER_SYSTEM = (
    "mutation($in: IntegrationSystemInput!) { registerIntegrationSystem(in: $in) { id } }"
)
UPDATE_SYSTEM = """mutation($id: ID!) {
    updateIntegrationSystem(id: $id, in: {name: "renamed"}) { id name }
}"""
DELETE_SYSTEM = "mutation($id: ID!) { unregisterIntegrationSystem(id: $id) { id } }"
SYSTEM_CLIENT = """mutation($id: ID!) { requestClientCredentialsForIntegrationSystem(id: $id) {
    id auth { credential { ... on OAuthCredentialData { clientId clientSecret } } }
} }"""
DELETE_SYSTEM_CLIENT = (
    "mutation($id: ID!) { deleteSystemAuthForIntegrationSystem(authID: $id) { id } }"
)
APP_CLIENT = """mutation($id: ID!) { requestClientCredentialsForApplication(id: $id) {
    auth { credential { ... on OAuthCredentialData { clientId clientSecret } } }
} }"""
APP_TOKEN = "mutation($id: ID!) { requestOneTimeTokenForApplication(id: $id) { token } }"
TEMPLATE = {
    "name": "shop template",
    "applicationInput": {"name": "{{name}}"},
    "placeholders": [{"name": "name"}],
    "accessLevel": "GLOBAL",
}
CREATE_TEMPLATE = (
    "mutation($in: ApplicationTemplateInput!) { createApplicationTemplate(in: $in) { id } }"
)
UPDATE_TEMPLATE = """mutation($id: ID!, $in: ApplicationTemplateInput!) {
    updateApplicationTemplate(id: $id, in: $in) { id description }
}"""
DELETE_TEMPLATE = "mutation($id: ID!) { deleteApplicationTemplate(id: $id) { id } }"


@pytest.fixture
async def tenants(api, settings) -> dict[str, str]:
    """Admin tokens bound to tenants A and B, and one of every tenant."""
    await create_tenant(settings, "A", A)
    await create_tenant(settings, "B", B)
    return {A: api.mint(tenant=A), B: api.mint(tenant=B), "all": api.mint(tenant=None)}


async def _system(api: Api, token: str, name: str = "erp") -> str:
    data = await api.data(REGISTER_SYSTEM, {"in": {"name": name}}, token=token)
    return data["registerIntegrationSystem"]["id"]


async def _system_client(api: Api, token: str, system_id: str) -> dict:
    data = await api.data(SYSTEM_CLIENT, {"id": system_id}, token=token)
    return data["requestClientCredentialsForIntegrationSystem"]


async def _as_system(api: Api, admin: str, system_id: str) -> Api:
    """The integration system, calling with an access token of its own client."""
    credential = (await _system_client(api, admin, system_id))["auth"]["credential"]
    basic = base64.b64encode(f"{credential['clientId']}:{credential['clientSecret']}".encode())
    response = await api.client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic.decode()}"},
    )
    assert response.status_code == 200, response.text
    return Api(api.client, api.settings, token=response.json()["access_token"])


async def _names(api: Api, **kw) -> list[str]:
    return sorted(a["name"] for a in (await api.data(APPLICATIONS, **kw))["applications"]["data"])


async def test_system_of_b_is_refused_in_a_and_works_in_b(api, tenants):
    a_app = await register_application(api, "a-shop", token=tenants[A])
    await register_application(api, "b-shop", token=tenants[B])
    system = await _as_system(api, tenants[B], await _system(api, tenants[B]))

    assert error_code(await system.error(APPLICATIONS, tenant=A)) == 26
    assert error_code(await system.error(UPDATE_APP, {"id": a_app}, tenant=A)) == 26
    error = await system.error('mutation { registerApplication(in: {name: "x"}) { id } }', tenant=A)
    assert error_code(error) == 26
    assert await _names(api, token=tenants[A]) == ["a-shop"]

    assert await _names(system, tenant=B) == ["b-shop"]
    created = await system.data(
        'mutation { registerApplication(in: {name: "managed"}) { id } }', tenant=B
    )
    assert created["registerApplication"]["id"]
    assert await _names(api, token=tenants[B]) == ["b-shop", "managed"]


async def test_system_of_an_admin_of_every_tenant_acts_nowhere_until_named(api, tenants):
    system_id = await _system(api, tenants["all"])
    system = await _as_system(api, tenants["all"], system_id)
    for tenant in (A, B):
        assert error_code(await system.error(APPLICATIONS, tenant=tenant)) == 26
    await register_application(api, "a-shop", token=tenants[A])
    await register_application(
        api, "a-managed", {"integrationSystemID": system_id}, token=tenants[A]
    )
    assert await _names(system, tenant=A) == ["a-managed", "a-shop"]
    assert error_code(await system.error(APPLICATIONS, tenant=B)) == 26


async def test_an_application_of_a_naming_the_system_grants_a(api, tenants):
    system_id = await _system(api, tenants[B])
    system = await _as_system(api, tenants[B], system_id)
    a_app = await register_application(api, "a-shop", token=tenants[A])
    assert error_code(await system.error(APPLICATIONS, tenant=A)) == 26

    named = await api.data(
        'mutation($id: ID!, $is: ID) { updateApplication(id: $id, in: {integrationSystemID: $is})'
        " { integrationSystemID } }",
        {"id": a_app, "is": system_id},
        token=tenants[A],
    )
    assert named["updateApplication"]["integrationSystemID"] == system_id
    assert await _names(system, tenant=A) == ["a-shop"]
    changed = await system.data(UPDATE_APP, {"id": a_app}, tenant=A)
    assert changed["updateApplication"]["description"] == "changed"

    # The grant lasts as long as an application of A names the system.
    await api.data(
        'mutation($id: ID!) { updateApplication(id: $id, in: {}) { id } }',
        {"id": a_app},
        token=tenants[A],
    )
    assert error_code(await system.error(APPLICATIONS, tenant=A)) == 26


async def test_system_mints_credentials_only_for_applications_naming_it(api, tenants):
    system_id = await _system(api, tenants[B])
    system = await _as_system(api, tenants[B], system_id)
    named = await register_application(
        api, "named", {"integrationSystemID": system_id}, token=tenants[B]
    )
    other = await register_application(api, "other", token=tenants[B])

    for mutation in (APP_CLIENT, APP_TOKEN):
        assert error_code(await system.error(mutation, {"id": other}, tenant=B)) == 26
    client = await system.data(APP_CLIENT, {"id": named}, tenant=B)
    assert client["requestClientCredentialsForApplication"]["auth"]["credential"]["clientSecret"]
    token = await system.data(APP_TOKEN, {"id": named}, tenant=B)
    assert token["requestOneTimeTokenForApplication"]["token"]
    # Administrators are not limited by the reference.
    assert (await api.data(APP_TOKEN, {"id": other}, token=tenants[B]))[
        "requestOneTimeTokenForApplication"
    ]["token"]


async def test_system_of_b_is_changed_only_by_b_or_an_admin_of_every_tenant(api, tenants):
    system_id = await _system(api, tenants[B])
    client_id = (await _system_client(api, tenants[B], system_id))["id"]
    for mutation, variables in [
        (UPDATE_SYSTEM, {"id": system_id}),
        (DELETE_SYSTEM, {"id": system_id}),
        (SYSTEM_CLIENT, {"id": system_id}),
        (DELETE_SYSTEM_CLIENT, {"id": client_id}),
    ]:
        error = await api.error(mutation, variables, token=tenants[A])
        assert error_code(error) == 26, mutation
    renamed = await api.data(UPDATE_SYSTEM, {"id": system_id}, token=tenants[B])
    assert renamed["updateIntegrationSystem"]["name"] == "renamed"
    assert await _system_client(api, tenants["all"], system_id)
    deleted = await api.data(DELETE_SYSTEM, {"id": system_id}, token=tenants["all"])
    assert deleted["unregisterIntegrationSystem"]["id"] == system_id


async def test_credentials_of_a_system_of_every_tenant_need_an_admin_of_every_tenant(
    api, tenants
):
    """Otherwise B's administrator could act in A through a system A's
    applications name."""
    system_id = await _system(api, tenants["all"])
    await register_application(api, "a-shop", {"integrationSystemID": system_id}, token=tenants[A])
    error = await api.error(SYSTEM_CLIENT, {"id": system_id}, token=tenants[B])
    assert error_code(error) == 26
    assert await _system_client(api, tenants["all"], system_id)
    # Its name and description stay open to every administrator.
    renamed = await api.data(UPDATE_SYSTEM, {"id": system_id}, token=tenants[B])
    assert renamed["updateIntegrationSystem"]["name"] == "renamed"


async def test_application_may_not_pick_another_integration_system(settings, tenants):
    async with compass_api(settings, **BEHIND_PROXY) as api:
        await _application_may_not_pick_another_integration_system(api, tenants)


async def _application_may_not_pick_another_integration_system(api: Api, tenants) -> None:
    theirs = await _system(api, tenants[B])
    app_id, application = await paired_application(api, "shop")
    error = await application.error(
        'mutation($id: ID!, $is: ID) { updateApplication(id: $id, in: {integrationSystemID: $is})'
        " { id } }",
        {"id": app_id, "is": theirs},
    )
    assert error_code(error) == 26
    assert "may not change their integration system" in error["message"]
    kept = await api.data(
        "query($id: ID!) { application(id: $id) { integrationSystemID } }", {"id": app_id}
    )
    assert kept["application"]["integrationSystemID"] is None
    # Its own description it may still change.
    changed = await application.data(UPDATE_APP, {"id": app_id})
    assert changed["updateApplication"]["description"] == "changed"


async def test_template_of_b_is_changed_only_by_b_or_an_admin_of_every_tenant(api, tenants):
    created = await api.data(CREATE_TEMPLATE, {"in": TEMPLATE}, token=tenants[B])
    template_id = created["createApplicationTemplate"]["id"]
    changed = {"in": {**TEMPLATE, "description": "changed"}, "id": template_id}
    assert error_code(await api.error(UPDATE_TEMPLATE, changed, token=tenants[A])) == 26
    error = await api.error(DELETE_TEMPLATE, {"id": template_id}, token=tenants[A])
    assert error_code(error) == 26
    updated = await api.data(UPDATE_TEMPLATE, changed, token=tenants[B])
    assert updated["updateApplicationTemplate"]["description"] == "changed"
    again = {**changed, "in": {**TEMPLATE, "description": "again"}}
    updated = await api.data(UPDATE_TEMPLATE, again, token=tenants["all"])
    assert updated["updateApplicationTemplate"]["description"] == "again"
    deleted = await api.data(DELETE_TEMPLATE, {"id": template_id}, token=tenants[B])
    assert deleted["deleteApplicationTemplate"]["id"] == template_id


async def test_template_of_an_admin_of_every_tenant_is_open_to_all(api, tenants):
    created = await api.data(CREATE_TEMPLATE, {"in": TEMPLATE}, token=tenants["all"])
    template_id = created["createApplicationTemplate"]["id"]
    deleted = await api.data(DELETE_TEMPLATE, {"id": template_id}, token=tenants[A])
    assert deleted["deleteApplicationTemplate"]["id"] == template_id


async def test_system_does_not_pass_its_grant_on(api, tenants):
    system_id = await _system(api, tenants[B])
    other_id = await _system(api, tenants[A], name="other")
    system = await _as_system(api, tenants[B], system_id)
    register = (
        'mutation($is: ID) { registerApplication(in: {name: "x", integrationSystemID: $is})'
    )
    error = await system.error(register + " { id } }", {"is": other_id}, tenant=B)
    assert error_code(error) == 26
    mine = await system.data(register + " { integrationSystemID } }", {"is": system_id}, tenant=B)
    assert mine["registerApplication"]["integrationSystemID"] == system_id


async def test_only_an_admin_of_every_tenant_names_a_system_in_a_template(api, tenants):
    """Applications made from the template would grant the system their tenant."""
    system_id = await _system(api, tenants[B])
    naming = {
        **TEMPLATE,
        "applicationInput": {"name": "{{name}}", "integrationSystemID": system_id},
    }
    error = await api.error(CREATE_TEMPLATE, {"in": naming}, token=tenants[B])
    assert error_code(error) == 26
    created = await api.data(CREATE_TEMPLATE, {"in": naming}, token=tenants["all"])
    assert created["createApplicationTemplate"]["id"]
