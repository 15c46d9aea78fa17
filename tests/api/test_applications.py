"""Applications through the GraphQL API: registration rules, updates,
unregistration, single and paged reads, and applications of a runtime."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from compass.auth.scopes import ADMIN_SCOPES
from compass.domain.tenant.service import TenantService
from tests.conftest import error_code

APP = """
  id name providerName description integrationSystemID healthCheckURL
  status { condition timestamp }
  labels
  webhooks { id applicationID type url }
"""
REGISTER = f"""mutation($in: ApplicationRegisterInput!) {{
  registerApplication(in: $in) {{ {APP} }}
}}"""
UPDATE = f"""mutation($id: ID!, $in: ApplicationUpdateInput!) {{
  updateApplication(id: $id, in: $in) {{ {APP} }}
}}"""
UNREGISTER = f"mutation($id: ID!) {{ unregisterApplication(id: $id) {{ {APP} }} }}"
GET = f"query($id: ID!) {{ application(id: $id) {{ {APP} }} }}"
LIST = """query($filter: [LabelFilter!], $first: Int, $after: PageCursor) {
  applications(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { startCursor endCursor hasNextPage } data { id name }
  }
}"""
FOR_RUNTIME = """query($id: ID!, $first: Int, $after: PageCursor) {
  applicationsForRuntime(runtimeID: $id, first: $first, after: $after) {
    totalCount pageInfo { endCursor hasNextPage } data { name }
  }
}"""
WEBHOOK_AUTH = """query($id: ID!) { application(id: $id) { webhooks { url auth {
  credential {
    ... on BasicCredentialData { username password }
    ... on OAuthCredentialData { clientId clientSecret url }
  }
  additionalHeaders additionalQueryParams
  requestAuth { csrf { tokenEndpointURL credential {
    ... on BasicCredentialData { username password }
  } } }
} } } }"""


async def register(api: Any, name: str, **fields: Any) -> dict[str, Any]:
    return (await api.data(REGISTER, {"in": {"name": name, **fields}}))["registerApplication"]


async def register_error(api: Any, name: str, **fields: Any) -> dict[str, Any]:
    return await api.error(REGISTER, {"in": {"name": name, **fields}})


async def register_runtime(api: Any, name: str, labels: dict[str, Any] | None = None) -> str:
    data = await api.data(
        "mutation($in: RuntimeInput!) { registerRuntime(in: $in) { id } }",
        {"in": {"name": name, "labels": labels}},
    )
    return data["registerRuntime"]["id"]


async def add_scenarios(api: Any, *names: str) -> None:
    schema = {
        "type": "array",
        "minItems": 1,
        "uniqueItems": True,
        "items": {"type": "string", "enum": ["DEFAULT", *names]},
    }
    await api.data(
        "mutation($in: LabelDefinitionInput!) { updateLabelDefinition(in: $in) { key } }",
        {"in": {"key": "scenarios", "schema": json.dumps(schema)}},
    )


async def other_tenant_token(api: Any, app: Any, external_id: str = "other-tenant") -> str:
    async with app.state.compass.sessions() as session:
        await TenantService(session).create("other", external_id)
        await session.commit()
    return api.mint(tenant=external_id)


def parse_time(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text)


# registerApplication


async def test_register_returns_every_given_field(api):
    before = datetime.now(UTC)
    app = await register(
        api,
        "shop",
        providerName="Acme",
        description="The shop",
        healthCheckURL="https://shop.example.com/health",
        labels={"env": "prod", "regions": ["eu", "us"], "tier": {"level": 2}},
    )
    assert app["name"] == "shop"
    assert app["providerName"] == "Acme"
    assert app["description"] == "The shop"
    assert app["healthCheckURL"] == "https://shop.example.com/health"
    assert app["integrationSystemID"] is None
    assert app["labels"] == {
        "env": "prod",
        "regions": ["eu", "us"],
        "tier": {"level": 2},
        "scenarios": ["DEFAULT"],
    }
    assert app["status"]["condition"] == "INITIAL"
    stamp = parse_time(app["status"]["timestamp"])
    assert before - timedelta(seconds=1) <= stamp <= datetime.now(UTC) + timedelta(seconds=1)


async def test_register_reads_back_the_same(api):
    app = await register(api, "shop", description="d", labels={"env": "dev"})
    read = (await api.data(GET, {"id": app["id"]}))["application"]
    assert read == app


async def test_register_with_only_a_name_gets_defaults(api):
    app = await register(api, "bare")
    assert app["providerName"] is None
    assert app["description"] is None
    assert app["healthCheckURL"] is None
    assert app["labels"] == {"scenarios": ["DEFAULT"]}
    assert app["webhooks"] == []
    assert app["status"]["condition"] == "INITIAL"


async def test_register_keeps_given_scenarios(api):
    await add_scenarios(api, "SHOP")
    app = await register(api, "shop", labels={"scenarios": ["SHOP"]})
    assert app["labels"] == {"scenarios": ["SHOP"]}


@pytest.mark.parametrize("condition", ["INITIAL", "CONNECTED", "FAILED"])
async def test_register_with_status_condition(api, condition):
    app = await register(api, "shop", statusCondition=condition)
    assert app["status"]["condition"] == condition


async def test_register_with_webhooks(api):
    app = await register(
        api,
        "shop",
        webhooks=[
            {"type": "CONFIGURATION_CHANGED", "url": "https://shop.example.com/hook1"},
            {"type": "CONFIGURATION_CHANGED", "url": "http://shop.example.com/hook2"},
        ],
    )
    hooks = app["webhooks"]
    assert [h["url"] for h in hooks] == [
        "https://shop.example.com/hook1",
        "http://shop.example.com/hook2",
    ]
    assert all(h["applicationID"] == app["id"] for h in hooks)
    assert all(h["type"] == "CONFIGURATION_CHANGED" for h in hooks)
    assert len({h["id"] for h in hooks}) == 2


WEBHOOK_WITH_AUTH = {
    "type": "CONFIGURATION_CHANGED",
    "url": "https://shop.example.com/hook",
    "auth": {
        "credential": {"basic": {"username": "user", "password": "secret"}},
        "additionalHeaders": {"X-Shop": ["1", "2"]},
        "additionalQueryParams": {"q": ["a"]},
        "requestAuth": {
            "csrf": {
                "tokenEndpointURL": "https://shop.example.com/csrf",
                "credential": {"basic": {"username": "csrf", "password": "csrf-secret"}},
            }
        },
    },
}


async def test_webhook_auth_is_stored_and_read_with_the_webhook_scope(api):
    app = await register(api, "shop", webhooks=[WEBHOOK_WITH_AUTH])
    token = api.mint(scopes=sorted({*ADMIN_SCOPES, "application.webhooks:read"}))
    read = await api.data(WEBHOOK_AUTH, {"id": app["id"]}, token=token)
    assert read["application"]["webhooks"] == [
        {
            "url": "https://shop.example.com/hook",
            "auth": {
                "credential": {"username": "user", "password": "secret"},
                "additionalHeaders": {"X-Shop": ["1", "2"]},
                "additionalQueryParams": {"q": ["a"]},
                "requestAuth": {
                    "csrf": {
                        "tokenEndpointURL": "https://shop.example.com/csrf",
                        "credential": {"username": "csrf", "password": "csrf-secret"},
                    }
                },
            },
        }
    ]


async def test_webhook_oauth_credential_is_stored(api):
    oauth = {"clientId": "cid", "clientSecret": "cs", "url": "https://auth.example.com/token"}
    hook = {
        "type": "CONFIGURATION_CHANGED",
        "url": "https://shop.example.com/hook",
        "auth": {"credential": {"oauth": oauth}},
    }
    app = await register(api, "shop", webhooks=[hook])
    token = api.mint(scopes=sorted({*ADMIN_SCOPES, "application.webhooks:read"}))
    read = await api.data(WEBHOOK_AUTH, {"id": app["id"]}, token=token)
    assert read["application"]["webhooks"][0]["auth"]["credential"] == oauth


async def test_webhook_auth_is_hidden_without_the_webhook_scope(api):
    app = await register(api, "shop", webhooks=[WEBHOOK_WITH_AUTH])
    token = api.mint(scopes=[s for s in ADMIN_SCOPES if s != "application.webhooks:read"])
    read = await api.data(WEBHOOK_AUTH, {"id": app["id"]}, token=token)
    assert read["application"]["webhooks"] == [
        {"url": "https://shop.example.com/hook", "auth": None}
    ]


async def test_webhook_credential_needs_exactly_one_kind(api):
    both = {
        "basic": {"username": "u", "password": "p"},
        "oauth": {"clientId": "c", "clientSecret": "s", "url": "https://auth.example.com"},
    }
    for credential in ({}, both):
        hook = {
            "type": "CONFIGURATION_CHANGED",
            "url": "https://shop.example.com/hook",
            "auth": {"credential": credential},
        }
        assert error_code(await register_error(api, "shop", webhooks=[hook])) == 22


@pytest.mark.parametrize(
    "name",
    ["a", "shop-1.eu", "a" * 36, "x1", "my.shop-2"],
)
async def test_valid_names_are_accepted(api, name):
    assert (await register(api, name))["name"] == name


@pytest.mark.parametrize(
    "name",
    ["", "a" * 37, "Shop", "1shop", "shop_1", "shop 1", "shöp", "shop/1", "shop:1"],
)
async def test_invalid_names_are_invalid_data(api, name):
    error = await register_error(api, name)
    assert error_code(error) == 22
    assert error["extensions"]["error"] == "InvalidData"


async def test_invalid_name_creates_nothing(api):
    await register_error(api, "Bad")
    assert (await api.data(LIST))["applications"]["totalCount"] == 0


async def test_duplicate_name_in_a_tenant_is_not_unique(api):
    await register(api, "shop")
    error = await register_error(api, "shop")
    assert error_code(error) == 21
    assert "shop" in error["message"]
    assert (await api.data(LIST))["applications"]["totalCount"] == 1


async def test_same_name_in_another_tenant_is_fine(api, app):
    first = await register(api, "shop")
    token = await other_tenant_token(api, app)
    data = await api.data(REGISTER, {"in": {"name": "shop"}}, token=token)
    assert data["registerApplication"]["id"] != first["id"]


async def test_another_tenant_does_not_see_the_application(api, app):
    shop = await register(api, "shop")
    token = await other_tenant_token(api, app)
    assert (await api.data(GET, {"id": shop["id"]}, token=token))["application"] is None
    page = await api.data(LIST, token=token)
    assert page["applications"]["totalCount"] == 0
    error = await api.error(UNREGISTER, {"id": shop["id"]}, token=token)
    assert error_code(error) == 20


@pytest.mark.parametrize(
    "fields",
    [
        {"healthCheckURL": "not a url"},
        {"healthCheckURL": "ftp://shop.example.com"},
        {"healthCheckURL": "https://"},
        {"healthCheckURL": "https://kyma project.io"},
        {"healthCheckURL": "/health"},
        {"webhooks": [{"type": "CONFIGURATION_CHANGED", "url": "https://shop example.com"}]},
        {"healthCheckURL": "https://shop.example.com/" + "x" * 300},
        {"webhooks": [{"type": "CONFIGURATION_CHANGED", "url": "shop.example.com"}]},
        {
            "webhooks": [
                {
                    "type": "CONFIGURATION_CHANGED",
                    "url": "https://shop.example.com",
                    "auth": {
                        "requestAuth": {"csrf": {"tokenEndpointURL": "nope"}},
                    },
                }
            ]
        },
    ],
)
async def test_invalid_urls_are_invalid_data(api, fields):
    assert error_code(await register_error(api, "shop", **fields)) == 22


@pytest.mark.parametrize("fields", [{"providerName": "p" * 257}, {"description": "d" * 2001}])
async def test_too_long_fields_are_invalid_data(api, fields):
    assert error_code(await register_error(api, "shop", **fields)) == 22


async def test_unknown_integration_system_id_is_not_found(api):
    error = await register_error(api, "shop", integrationSystemID="a-system")
    assert error_code(error) == 20
    assert (await api.data(LIST))["applications"]["totalCount"] == 0


async def test_register_with_bundles_creates_them(api):
    app = await register(api, "shop", bundles=[{"name": "orders"}, {"name": "billing"}])
    read = await api.data(
        "query($id: ID!) { application(id: $id) { bundles { totalCount data { name } } } }",
        {"id": app["id"]},
    )
    bundles = read["application"]["bundles"]
    assert bundles["totalCount"] == 2
    assert sorted(b["name"] for b in bundles["data"]) == ["billing", "orders"]


async def test_failing_bundle_registers_nothing(api):
    api_without_spec_source = {
        "name": "orders-api",
        "targetURL": "https://shop.example.com/api",
        "spec": {"type": "OPEN_API", "format": "JSON"},
    }
    bundle = {"name": "orders", "apiDefinitions": [api_without_spec_source]}
    error = await register_error(api, "shop", labels={"env": "prod"}, bundles=[bundle])
    assert error_code(error) == 22
    assert (await api.data(LIST))["applications"]["totalCount"] == 0
    definition = await api.data('{ labelDefinition(key: "env") { key } }')
    assert definition["labelDefinition"] is None


async def test_an_empty_bundle_list_is_accepted(api):
    assert (await register(api, "shop", bundles=[]))["name"] == "shop"


async def test_invalid_label_in_registration_creates_nothing(api):
    error = await register_error(api, "shop", labels={"scenarios": ["UNKNOWN"]})
    assert error_code(error) == 22
    assert (await api.data(LIST))["applications"]["totalCount"] == 0


# updateApplication


async def test_update_replaces_the_fields(api):
    app = await register(
        api,
        "shop",
        providerName="Acme",
        description="old",
        healthCheckURL="https://old.example.com",
        labels={"env": "prod"},
    )
    updated = (
        await api.data(
            UPDATE,
            {"id": app["id"], "in": {"description": "new", "healthCheckURL": "http://new.example"}},
        )
    )["updateApplication"]
    assert updated["id"] == app["id"]
    assert updated["name"] == "shop"
    assert updated["description"] == "new"
    assert updated["healthCheckURL"] == "http://new.example"
    assert updated["providerName"] is None
    assert updated["labels"] == {"env": "prod", "scenarios": ["DEFAULT"]}
    assert updated["status"] == app["status"]
    assert (await api.data(GET, {"id": app["id"]}))["application"] == updated


async def test_update_status_condition_changes_status_and_timestamp(api):
    app = await register(api, "shop")
    updated = (await api.data(UPDATE, {"id": app["id"], "in": {"statusCondition": "CONNECTED"}}))[
        "updateApplication"
    ]
    assert updated["status"]["condition"] == "CONNECTED"
    assert parse_time(updated["status"]["timestamp"]) > parse_time(app["status"]["timestamp"])


async def test_update_without_status_condition_keeps_status(api):
    app = await register(api, "shop", statusCondition="FAILED")
    updated = (await api.data(UPDATE, {"id": app["id"], "in": {"description": "x"}}))[
        "updateApplication"
    ]
    assert updated["status"] == app["status"]


async def test_update_of_a_missing_application_is_not_found(api):
    error = await api.error(UPDATE, {"id": "00000000-0000-0000-0000-000000000000", "in": {}})
    assert error_code(error) == 20


@pytest.mark.parametrize(
    ("fields", "code"),
    [({"healthCheckURL": "nope"}, 22), ({"integrationSystemID": "a-system"}, 20)],
)
async def test_invalid_update_changes_nothing(api, fields, code):
    app = await register(api, "shop", description="kept")
    error = await api.error(UPDATE, {"id": app["id"], "in": {"description": "lost", **fields}})
    assert error_code(error) == code
    assert (await api.data(GET, {"id": app["id"]}))["application"]["description"] == "kept"


# unregisterApplication


async def test_unregister_returns_the_deleted_application(api):
    app = await register(
        api,
        "shop",
        labels={"env": "prod"},
        webhooks=[{"type": "CONFIGURATION_CHANGED", "url": "https://shop.example.com/h"}],
    )
    deleted = (await api.data(UNREGISTER, {"id": app["id"]}))["unregisterApplication"]
    assert deleted == app
    assert deleted["labels"] == {"env": "prod", "scenarios": ["DEFAULT"]}


async def test_unregistered_application_is_gone_with_its_labels(api):
    app = await register(api, "shop", labels={"env": "prod"})
    await api.data(UNREGISTER, {"id": app["id"]})
    assert (await api.data(GET, {"id": app["id"]}))["application"] is None
    assert (await api.data(LIST, {"filter": [{"key": "env"}]}))["applications"]["data"] == []
    # Still used labels would refuse this.
    deleted = await api.data('mutation { deleteLabelDefinition(key: "env") { key } }')
    assert deleted["deleteLabelDefinition"]["key"] == "env"


async def test_unregistered_name_can_be_reused(api):
    app = await register(api, "shop")
    await api.data(UNREGISTER, {"id": app["id"]})
    assert (await register(api, "shop"))["id"] != app["id"]


async def test_unregister_of_a_missing_application_is_not_found(api):
    error = await api.error(UNREGISTER, {"id": "00000000-0000-0000-0000-000000000000"})
    assert error_code(error) == 20


# application, applications


async def test_missing_application_is_null(api):
    body = await api.post(GET, {"id": "00000000-0000-0000-0000-000000000000"})
    assert body == {"data": {"application": None}}


async def test_applications_lists_in_creation_order(api):
    names = ["c-app", "a-app", "b-app"]
    for name in names:
        await register(api, name)
    page = (await api.data(LIST))["applications"]
    assert [a["name"] for a in page["data"]] == names
    assert page["totalCount"] == 3
    assert page["pageInfo"]["hasNextPage"] is False


async def test_applications_filtered_by_label(api):
    await register(api, "one", labels={"env": "prod"})
    await register(api, "two", labels={"env": "dev"})
    await register(api, "three")
    page = (await api.data(LIST, {"filter": [{"key": "env", "query": '"prod"'}]}))["applications"]
    assert [a["name"] for a in page["data"]] == ["one"]
    assert page["totalCount"] == 1


async def test_applications_first_and_after(api):
    for name in ["a1", "a2", "a3"]:
        await register(api, name)
    first = (await api.data(LIST, {"first": 2}))["applications"]
    assert [a["name"] for a in first["data"]] == ["a1", "a2"]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = (await api.data(LIST, {"first": 2, "after": first["pageInfo"]["endCursor"]}))[
        "applications"
    ]
    assert [a["name"] for a in rest["data"]] == ["a3"]
    assert rest["pageInfo"]["hasNextPage"] is False
    assert rest["totalCount"] == 3


# applicationsForRuntime


async def test_applications_for_runtime_share_a_scenario(api):
    await add_scenarios(api, "SHOP", "BANK")
    await register(api, "default-only")
    await register(api, "shop-only", labels={"scenarios": ["SHOP"]})
    await register(api, "bank-and-default", labels={"scenarios": ["BANK", "DEFAULT"]})
    await register(api, "shop-and-bank", labels={"scenarios": ["SHOP", "BANK"]})
    runtime = await register_runtime(api, "rt", {"scenarios": ["SHOP", "BANK"]})
    page = (await api.data(FOR_RUNTIME, {"id": runtime}))["applicationsForRuntime"]
    assert [a["name"] for a in page["data"]] == ["shop-only", "bank-and-default", "shop-and-bank"]
    assert page["totalCount"] == 3


async def test_applications_for_runtime_in_default(api):
    await add_scenarios(api, "SHOP")
    await register(api, "default-app")
    await register(api, "shop-app", labels={"scenarios": ["SHOP"]})
    runtime = await register_runtime(api, "rt", {"scenarios": ["DEFAULT"]})
    page = (await api.data(FOR_RUNTIME, {"id": runtime}))["applicationsForRuntime"]
    assert [a["name"] for a in page["data"]] == ["default-app"]


async def test_applications_for_runtime_without_scenarios_is_empty(api):
    await register(api, "default-app")
    runtime = await register_runtime(api, "rt", {"env": "prod"})
    # Registered without scenarios it is in DEFAULT, as an application is.
    page = (await api.data(FOR_RUNTIME, {"id": runtime}))["applicationsForRuntime"]
    assert page["data"] == [{"name": "default-app"}]
    await api.data(
        'mutation($id: ID!) { deleteRuntimeLabel(runtimeID: $id, key: "scenarios") { key } }',
        {"id": runtime},
    )
    page = (await api.data(FOR_RUNTIME, {"id": runtime}))["applicationsForRuntime"]
    assert page["data"] == []
    assert page["totalCount"] == 0
    assert page["pageInfo"]["hasNextPage"] is False


async def test_applications_for_runtime_ignores_other_labels(api):
    app = await register(api, "tagged", labels={"team": ["DEFAULT"]})
    await api.data(
        'mutation($id: ID!) { deleteApplicationLabel(applicationID: $id, key: "scenarios") '
        "{ key } }",
        {"id": app["id"]},
    )
    runtime = await register_runtime(api, "rt", {"scenarios": ["DEFAULT"]})
    page = (await api.data(FOR_RUNTIME, {"id": runtime}))["applicationsForRuntime"]
    assert page["data"] == []


async def test_applications_for_runtime_follow_label_changes(api):
    await add_scenarios(api, "SHOP")
    app = await register(api, "app")
    runtime = await register_runtime(api, "rt", {"scenarios": ["SHOP"]})
    assert (await api.data(FOR_RUNTIME, {"id": runtime}))["applicationsForRuntime"]["data"] == []
    await api.data(
        "mutation($id: ID!, $v: Any!) { setApplicationLabel(applicationID: $id, "
        'key: "scenarios", value: $v) { key } }',
        {"id": app["id"], "v": ["SHOP"]},
    )
    page = (await api.data(FOR_RUNTIME, {"id": runtime}))["applicationsForRuntime"]
    assert [a["name"] for a in page["data"]] == ["app"]


async def test_applications_for_runtime_pages(api):
    for name in ["a1", "a2", "a3"]:
        await register(api, name)
    runtime = await register_runtime(api, "rt", {"scenarios": ["DEFAULT"]})
    first = (await api.data(FOR_RUNTIME, {"id": runtime, "first": 2}))["applicationsForRuntime"]
    assert [a["name"] for a in first["data"]] == ["a1", "a2"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["totalCount"] == 3
    rest = (
        await api.data(
            FOR_RUNTIME, {"id": runtime, "first": 2, "after": first["pageInfo"]["endCursor"]}
        )
    )["applicationsForRuntime"]
    assert [a["name"] for a in rest["data"]] == ["a3"]
    assert rest["pageInfo"]["hasNextPage"] is False


async def test_applications_for_a_missing_runtime_is_not_found(api):
    error = await api.error(FOR_RUNTIME, {"id": "00000000-0000-0000-0000-000000000000"})
    assert error_code(error) == 20


async def test_applications_for_runtime_of_another_tenant_is_not_found(api, app):
    runtime = await register_runtime(api, "rt", {"scenarios": ["DEFAULT"]})
    token = await other_tenant_token(api, app)
    error = await api.error(FOR_RUNTIME, {"id": runtime}, token=token)
    assert error_code(error) == 20


@pytest.mark.parametrize("name", ["shop\n", "shop\r\n"])
async def test_a_name_with_a_trailing_newline_is_invalid(api, name):
    error = await api.error(
        "mutation($name: String!) { registerApplication(in: {name: $name}) { id } }",
        {"name": name},
    )
    assert error_code(error) == 22


async def test_a_label_key_with_a_trailing_newline_is_invalid(api):
    error = await api.error(
        'mutation($labels: Labels) { registerApplication(in: {name: "shop", labels: $labels})'
        " { id } }",
        {"labels": {"team\n": "a"}},
    )
    assert error_code(error) == 22
