import json

import pytest

from tests.api.tenancy import create_tenant
from tests.conftest import error_code

MISSING_ID = "7c1d4c5e-0000-4000-8000-000000000000"
AUTH_FIELDS = """auth {
    credential {
        ... on BasicCredentialData { username password }
        ... on OAuthCredentialData { clientId clientSecret url }
    }
    additionalHeaders
}"""
WEBHOOK_FIELDS = f"id applicationID type url {AUTH_FIELDS}"
ADD = f"""mutation($app: ID!, $in: WebhookInput!) {{
    addWebhook(applicationID: $app, in: $in) {{ {WEBHOOK_FIELDS} }}
}}"""
UPDATE = f"""mutation($id: ID!, $in: WebhookInput!) {{
    updateWebhook(webhookID: $id, in: $in) {{ {WEBHOOK_FIELDS} }}
}}"""
DELETE = f"mutation($id: ID!) {{ deleteWebhook(webhookID: $id) {{ {WEBHOOK_FIELDS} }} }}"
APP_WEBHOOKS = f"query($id: ID!) {{ application(id: $id) {{ webhooks {{ {WEBHOOK_FIELDS} }} }} }}"
BASIC = {"credential": {"basic": {"username": "hook", "password": "s3cret"}}}


async def register_application(api, name="shop", **kw):
    data = await api.data(
        "mutation($in: ApplicationRegisterInput!) { registerApplication(in: $in) { id } }",
        {"in": {"name": name}},
        **kw,
    )
    return data["registerApplication"]["id"]


async def add_webhook(api, app_id, url="https://hooks.example/shop", auth=None, **kw):
    webhook = {"type": "CONFIGURATION_CHANGED", "url": url}
    if auth is not None:
        webhook["auth"] = auth
    data = await api.data(ADD, {"app": app_id, "in": webhook}, **kw)
    return data["addWebhook"]


async def webhooks_of(api, app_id):
    data = await api.data(APP_WEBHOOKS, {"id": app_id})
    return data["application"]["webhooks"]


async def test_add_webhook_returns_it_and_lists_it_on_the_application(api):
    app_id = await register_application(api)
    webhook = await add_webhook(api, app_id, auth=BASIC)
    assert webhook["applicationID"] == app_id
    assert webhook["type"] == "CONFIGURATION_CHANGED"
    assert webhook["url"] == "https://hooks.example/shop"
    assert webhook["auth"]["credential"] == {"username": "hook", "password": "s3cret"}
    assert await webhooks_of(api, app_id) == [webhook]


async def test_add_webhook_with_oauth_credentials_and_headers(api):
    app_id = await register_application(api)
    auth = {
        "credential": {
            "oauth": {"clientId": "c1", "clientSecret": "cs", "url": "https://auth.example/t"}
        },
        "additionalHeaders": {"X-Team": ["a"]},
    }
    webhook = await add_webhook(api, app_id, auth=auth)
    assert webhook["auth"] == {
        "credential": {"clientId": "c1", "clientSecret": "cs", "url": "https://auth.example/t"},
        "additionalHeaders": {"X-Team": ["a"]},
    }


EXTRAS = """auth {
    additionalHeaders additionalHeadersSerialized
    additionalQueryParams additionalQueryParamsSerialized
    requestAuth { csrf { tokenEndpointURL additionalHeaders additionalHeadersSerialized
        additionalQueryParams additionalQueryParamsSerialized } }
}"""
ADD_EXTRAS = f"""mutation($app: ID!, $in: WebhookInput!) {{
    addWebhook(applicationID: $app, in: $in) {{ {EXTRAS} }}
}}"""


async def test_headers_and_query_params_come_back_in_both_forms(api):
    """Upstream returns the map and the serialized form, whichever was given."""
    app_id = await register_application(api)
    csrf = {
        "tokenEndpointURL": "https://auth.example/csrf",
        "additionalHeadersSerialized": '{"X-Csrf": ["c"]}',
        "additionalQueryParams": {"cq": ["1"]},
    }
    auth = {
        "credential": BASIC["credential"],
        "additionalHeaders": {"X-Team": ["a", "b"]},
        "additionalQueryParamsSerialized": '{"q": ["x"]}',
        "requestAuth": {"csrf": csrf},
    }
    webhook = {"type": "CONFIGURATION_CHANGED", "url": "https://hooks.example/x", "auth": auth}
    added = (await api.data(ADD_EXTRAS, {"app": app_id, "in": webhook}))["addWebhook"]["auth"]
    assert added["additionalHeaders"] == {"X-Team": ["a", "b"]}
    assert json.loads(added["additionalHeadersSerialized"]) == {"X-Team": ["a", "b"]}
    assert added["additionalQueryParams"] == {"q": ["x"]}
    assert json.loads(added["additionalQueryParamsSerialized"]) == {"q": ["x"]}
    read_csrf = added["requestAuth"]["csrf"]
    assert read_csrf["additionalHeaders"] == {"X-Csrf": ["c"]}
    assert json.loads(read_csrf["additionalHeadersSerialized"]) == {"X-Csrf": ["c"]}
    assert read_csrf["additionalQueryParams"] == {"cq": ["1"]}
    assert json.loads(read_csrf["additionalQueryParamsSerialized"]) == {"cq": ["1"]}


@pytest.mark.parametrize(
    "extras",
    [
        {"additionalHeadersSerialized": "not json"},
        {"additionalHeadersSerialized": '["a"]'},
        {"additionalQueryParams": {"q": "not a list"}},
    ],
)
async def test_malformed_headers_or_query_params_are_invalid_data(api, extras):
    app_id = await register_application(api)
    webhook = {"type": "CONFIGURATION_CHANGED", "url": "https://hooks.example/x", "auth": extras}
    error = await api.error(ADD_EXTRAS, {"app": app_id, "in": webhook})
    assert error_code(error) == 22


async def test_webhook_auth_needs_the_webhooks_read_scope(api):
    app_id = await register_application(api)
    writer = api.mint(scopes=["application:write"])
    added = await add_webhook(api, app_id, auth=BASIC, token=writer)
    assert added["auth"] is None
    updated = await api.data(
        UPDATE,
        {"id": added["id"], "in": {"type": "CONFIGURATION_CHANGED", "url": "https://x.example"}},
        token=api.mint(scopes=["application:write"]),
    )
    assert updated["updateWebhook"]["auth"] is None
    reader = api.mint(scopes=["application:read"])
    data = await api.data(APP_WEBHOOKS, {"id": app_id}, token=reader)
    assert data["application"]["webhooks"][0]["auth"] is None
    assert data["application"]["webhooks"][0]["url"] == "https://x.example"
    deleted = await api.data(DELETE, {"id": added["id"]}, token=writer)
    assert deleted["deleteWebhook"]["auth"] is None
    assert deleted["deleteWebhook"]["url"] == "https://x.example"


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "ftp://hooks.example/x",
        "https://",
        "https://h.example/" + "x" * 260,
        "https://kyma project.io",
        "hooks.example/x",
    ],
)
async def test_add_webhook_rejects_invalid_url(api, url):
    app_id = await register_application(api)
    error = await api.error(
        ADD, {"app": app_id, "in": {"type": "CONFIGURATION_CHANGED", "url": url}}
    )
    assert error_code(error) == 22
    assert await webhooks_of(api, app_id) == []


async def test_add_webhook_rejects_credentials_with_both_kinds(api):
    app_id = await register_application(api)
    auth = {
        "credential": {
            "basic": {"username": "u", "password": "p"},
            "oauth": {"clientId": "c", "clientSecret": "s", "url": "https://auth.example"},
        }
    }
    error = await api.error(
        ADD,
        {
            "app": app_id,
            "in": {"type": "CONFIGURATION_CHANGED", "url": "https://h.example", "auth": auth},
        },
    )
    assert error_code(error) == 22
    assert await webhooks_of(api, app_id) == []


async def test_add_webhook_to_missing_application_is_not_found(api):
    error = await api.error(
        ADD,
        {"app": MISSING_ID, "in": {"type": "CONFIGURATION_CHANGED", "url": "https://h.example"}},
    )
    assert error_code(error) == 20


async def test_update_webhook_replaces_url_and_auth(api):
    app_id = await register_application(api)
    webhook = await add_webhook(api, app_id, auth=BASIC)
    data = await api.data(
        UPDATE,
        {
            "id": webhook["id"],
            "in": {"type": "CONFIGURATION_CHANGED", "url": "https://new.example/h"},
        },
    )
    updated = data["updateWebhook"]
    assert updated["id"] == webhook["id"]
    assert updated["url"] == "https://new.example/h"
    assert updated["auth"] is None
    assert await webhooks_of(api, app_id) == [updated]


async def test_update_webhook_with_invalid_url_changes_nothing(api):
    app_id = await register_application(api)
    webhook = await add_webhook(api, app_id)
    error = await api.error(
        UPDATE, {"id": webhook["id"], "in": {"type": "CONFIGURATION_CHANGED", "url": "nope"}}
    )
    assert error_code(error) == 22
    assert await webhooks_of(api, app_id) == [webhook]


async def test_update_missing_webhook_is_not_found(api):
    error = await api.error(
        UPDATE,
        {"id": MISSING_ID, "in": {"type": "CONFIGURATION_CHANGED", "url": "https://h.example"}},
    )
    assert error_code(error) == 20


async def test_delete_webhook_returns_it_and_removes_it(api):
    app_id = await register_application(api)
    kept = await add_webhook(api, app_id, url="https://hooks.example/kept")
    gone = await add_webhook(api, app_id, url="https://hooks.example/gone", auth=BASIC)
    data = await api.data(DELETE, {"id": gone["id"]})
    assert data["deleteWebhook"] == gone
    assert await webhooks_of(api, app_id) == [kept]
    error = await api.error(DELETE, {"id": gone["id"]})
    assert error_code(error) == 20


async def test_webhook_mutations_need_application_write(api):
    app_id = await register_application(api)
    webhook = await add_webhook(api, app_id)
    reader = api.mint(scopes=["application:read", "application.webhooks:read"])
    variables = {"type": "CONFIGURATION_CHANGED", "url": "https://h.example"}
    error = await api.error(ADD, {"app": app_id, "in": variables}, token=reader)
    assert error_code(error) == 23
    error = await api.error(UPDATE, {"id": webhook["id"], "in": variables}, token=reader)
    assert error_code(error) == 23
    error = await api.error(DELETE, {"id": webhook["id"]}, token=reader)
    assert error_code(error) == 23
    assert await webhooks_of(api, app_id) == [webhook]


async def test_other_tenant_cannot_touch_webhooks(api):
    app_id = await register_application(api)
    webhook = await add_webhook(api, app_id)
    tenant_b = await create_tenant(api.settings, "tenant-b")
    token_b = api.mint(tenant=tenant_b.id)
    variables = {"type": "CONFIGURATION_CHANGED", "url": "https://evil.example"}
    error = await api.error(ADD, {"app": app_id, "in": variables}, token=token_b)
    assert error_code(error) == 20
    error = await api.error(UPDATE, {"id": webhook["id"], "in": variables}, token=token_b)
    assert error_code(error) == 20
    error = await api.error(DELETE, {"id": webhook["id"]}, token=token_b)
    assert error_code(error) == 20
    assert await webhooks_of(api, app_id) == [webhook]
