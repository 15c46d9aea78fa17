"""Bundles, API and event definitions, and documents."""

from __future__ import annotations

import pytest

from tests.api.tenancy import create_tenant
from tests.conftest import error_code

OPENAPI = '{"openapi": "3.0.0", "info": {"title": "Orders", "version": "1"}}'
ODATA = '<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0"/>'
ASYNCAPI = "asyncapi: 2.0.0\ninfo:\n  title: Orders\n"

REGISTER = """mutation($in: ApplicationRegisterInput!) {
  registerApplication(in: $in) { id bundles { totalCount data { id name } } }
}"""
ADD_BUNDLE = """mutation($app: ID!, $in: BundleCreateInput!) {
  addBundle(applicationID: $app, in: $in) {
    id name description instanceAuthRequestInputSchema
    defaultInstanceAuth { credential { ... on BasicCredentialData { username password } } }
  }
}"""
ADD_API = """mutation($bundle: ID!, $in: APIDefinitionInput!) {
  addAPIDefinitionToBundle(bundleID: $bundle, in: $in) {
    id name description targetURL group spec { data type format }
    version { value deprecated deprecatedSince forRemoval }
  }
}"""
BUNDLE = """query($app: ID!, $bundle: ID!) { application(id: $app) { bundle(id: $bundle) {
  id name
  apiDefinitions { totalCount data { id name group } }
  eventDefinitions { totalCount data { id name } }
  documents { totalCount data { id title } }
} } }"""


def api_input(name: str = "orders", **extra: object) -> dict:
    return {
        "name": name,
        "targetURL": "https://shop.example/api",
        "spec": {"type": "OPEN_API", "format": "JSON", "data": OPENAPI},
        **extra,
    }


@pytest.fixture
async def application(api) -> str:
    data = await api.data(REGISTER, {"in": {"name": "shop"}})
    return data["registerApplication"]["id"]


@pytest.fixture
async def bundle(api, application) -> str:
    data = await api.data(ADD_BUNDLE, {"app": application, "in": {"name": "orders"}})
    return data["addBundle"]["id"]


async def _bundle(api, app: str, bundle: str) -> dict | None:
    return (await api.data(BUNDLE, {"app": app, "bundle": bundle}))["application"]["bundle"]


async def test_register_application_with_nested_bundles(api):
    data = await api.data(
        REGISTER,
        {
            "in": {
                "name": "shop",
                "bundles": [
                    {
                        "name": "orders",
                        "apiDefinitions": [api_input()],
                        "eventDefinitions": [
                            {
                                "name": "order-events",
                                "spec": {"type": "ASYNC_API", "format": "YAML", "data": ASYNCAPI},
                            }
                        ],
                        "documents": [
                            {
                                "title": "Guide",
                                "displayName": "Guide",
                                "description": "How to order",
                                "format": "MARKDOWN",
                                "data": "# Orders",
                            }
                        ],
                    },
                    {"name": "billing"},
                ],
            }
        },
    )
    app = data["registerApplication"]
    assert app["bundles"]["totalCount"] == 2
    orders = next(b for b in app["bundles"]["data"] if b["name"] == "orders")
    read = await _bundle(api, app["id"], orders["id"])
    assert read["apiDefinitions"]["data"][0]["name"] == "orders"
    assert read["eventDefinitions"]["data"][0]["name"] == "order-events"
    assert read["documents"]["data"][0]["title"] == "Guide"


async def test_invalid_nested_spec_registers_nothing(api):
    bad = api_input(spec={"type": "OPEN_API", "format": "JSON", "data": "{not json"})
    error = await api.error(
        REGISTER, {"in": {"name": "shop", "bundles": [{"name": "b", "apiDefinitions": [bad]}]}}
    )
    assert error_code(error) == 22
    assert "orders" in error["message"]
    data = await api.data("{ applications { totalCount } }")
    assert data["applications"]["totalCount"] == 0


async def test_add_bundle_with_schema_and_default_auth(api, application):
    data = await api.data(
        ADD_BUNDLE,
        {
            "app": application,
            "in": {
                "name": "orders",
                "description": "Order APIs",
                "instanceAuthRequestInputSchema": '{"type": "object"}',
                "defaultInstanceAuth": {
                    "credential": {"basic": {"username": "shop", "password": "secret"}}
                },
            },
        },
    )
    bundle = data["addBundle"]
    assert bundle["description"] == "Order APIs"
    assert bundle["instanceAuthRequestInputSchema"] == '{"type": "object"}'
    assert bundle["defaultInstanceAuth"]["credential"] == {"username": "shop", "password": "secret"}


async def test_default_instance_auth_headers_come_back_in_both_forms(api, application):
    data = await api.data(
        """mutation($app: ID!, $in: BundleCreateInput!) {
          addBundle(applicationID: $app, in: $in) { defaultInstanceAuth {
            additionalHeaders additionalHeadersSerialized
            additionalQueryParams additionalQueryParamsSerialized } } }""",
        {
            "app": application,
            "in": {
                "name": "orders",
                "defaultInstanceAuth": {
                    "additionalHeadersSerialized": '{"X-Key": ["k"]}',
                    "additionalQueryParams": {"tenant": ["t1"]},
                },
            },
        },
    )
    auth = data["addBundle"]["defaultInstanceAuth"]
    assert auth["additionalHeaders"] == {"X-Key": ["k"]}
    assert auth["additionalHeadersSerialized"] == '{"X-Key":["k"]}'
    assert auth["additionalQueryParams"] == {"tenant": ["t1"]}
    assert auth["additionalQueryParamsSerialized"] == '{"tenant":["t1"]}'


@pytest.mark.parametrize(
    "bundle_input",
    [
        {"name": ""},
        {"name": "x" * 101},
        {"name": "b", "description": "d" * 2001},
        {"name": "b", "instanceAuthRequestInputSchema": "{not json"},
        {"name": "b", "instanceAuthRequestInputSchema": '{"type": 12}'},
        {"name": "b", "defaultInstanceAuth": {"credential": {}}},
    ],
)
async def test_invalid_bundle_input(api, application, bundle_input):
    error = await api.error(ADD_BUNDLE, {"app": application, "in": bundle_input})
    assert error_code(error) == 22


async def test_add_bundle_to_missing_application(api):
    error = await api.error(
        ADD_BUNDLE, {"app": "9f1c1b52-0000-4000-8000-000000000000", "in": {"name": "b"}}
    )
    assert error_code(error) == 20


async def test_update_bundle(api, application, bundle):
    data = await api.data(
        """mutation($id: ID!) { updateBundle(id: $id, in: {name: "renamed", description: "new"})
          { id name description } }""",
        {"id": bundle},
    )
    assert data["updateBundle"] == {"id": bundle, "name": "renamed", "description": "new"}
    error = await api.error(
        'mutation { updateBundle(id: "9f1c1b52-0000-4000-8000-000000000000", in: {name: "x"}) '
        "{ id } }"
    )
    assert error_code(error) == 20


async def test_delete_bundle_removes_its_contents(api, application, bundle):
    created = await api.data(ADD_API, {"bundle": bundle, "in": api_input()})
    api_id = created["addAPIDefinitionToBundle"]["id"]
    data = await api.data(
        "mutation($id: ID!) { deleteBundle(id: $id) { id name } }", {"id": bundle}
    )
    assert data["deleteBundle"] == {"id": bundle, "name": "orders"}
    assert await _bundle(api, application, bundle) is None
    error = await api.error(
        "mutation($id: ID!) { deleteAPIDefinition(id: $id) { id } }", {"id": api_id}
    )
    assert error_code(error) == 20


async def test_unregister_application_removes_bundles(api, application, bundle):
    await api.data(ADD_API, {"bundle": bundle, "in": api_input()})
    await api.data(
        "mutation($id: ID!) { unregisterApplication(id: $id) { id } }", {"id": application}
    )
    error = await api.error(
        'mutation($id: ID!) { updateBundle(id: $id, in: {name: "x"}) { id } }', {"id": bundle}
    )
    assert error_code(error) == 20


async def test_api_definition_fields(api, bundle):
    version = {"value": "v2", "deprecated": True, "deprecatedSince": "v1", "forRemoval": False}
    data = await api.data(
        ADD_API,
        {
            "bundle": bundle,
            "in": api_input(description="Orders API", group="orders", version=version),
        },
    )
    created = data["addAPIDefinitionToBundle"]
    assert created["targetURL"] == "https://shop.example/api"
    assert created["group"] == "orders"
    assert created["spec"] == {"data": OPENAPI, "type": "OPEN_API", "format": "JSON"}
    assert created["version"] == version


async def test_odata_spec_in_xml(api, bundle):
    spec = {"type": "ODATA", "format": "XML", "data": ODATA}
    data = await api.data(ADD_API, {"bundle": bundle, "in": api_input(spec=spec)})
    assert data["addAPIDefinitionToBundle"]["spec"]["format"] == "XML"


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ({"type": "OPEN_API", "format": "XML", "data": ODATA}, "must be YAML or JSON"),
        ({"type": "ODATA", "format": "YAML", "data": "a: 1"}, "must be XML or JSON"),
        ({"type": "OPEN_API", "format": "JSON", "data": "{"}, "does not parse"),
        ({"type": "OPEN_API", "format": "YAML", "data": "a: [1"}, "does not parse"),
        ({"type": "ODATA", "format": "XML", "data": "<a>"}, "does not parse"),
        ({"type": "OPEN_API", "format": "JSON"}, "needs data or a fetchRequest"),
    ],
)
async def test_invalid_spec_names_the_definition(api, bundle, spec, reason):
    error = await api.error(ADD_API, {"bundle": bundle, "in": api_input("payments", spec=spec)})
    assert error_code(error) == 22
    assert "payments" in error["message"]
    assert reason in error["message"]


@pytest.mark.parametrize(
    "fields",
    [
        {"targetURL": "not a url"},
        {"targetURL": "https://kyma project.io"},
        {"targetURL": "kyma-project.io/api"},
        {"targetURL": "https://shop.example/a b"},
        {"name": "x" * 101},
        {"group": "g" * 37},
        {"version": {"value": "v" * 257}},
    ],
)
async def test_invalid_api_definition_input(api, bundle, fields):
    error = await api.error(ADD_API, {"bundle": bundle, "in": {**api_input(), **fields}})
    assert error_code(error) == 22


async def test_update_and_delete_api_definition(api, application, bundle):
    created = await api.data(ADD_API, {"bundle": bundle, "in": api_input()})
    api_id = created["addAPIDefinitionToBundle"]["id"]
    data = await api.data(
        "mutation($id: ID!, $in: APIDefinitionInput!) { updateAPIDefinition(id: $id, in: $in) "
        "{ id name spec { type } } }",
        {"id": api_id, "in": {"name": "orders-v2", "targetURL": "https://shop.example/v2"}},
    )
    assert data["updateAPIDefinition"] == {"id": api_id, "name": "orders-v2", "spec": None}
    await api.data("mutation($id: ID!) { deleteAPIDefinition(id: $id) { id } }", {"id": api_id})
    assert (await _bundle(api, application, bundle))["apiDefinitions"]["totalCount"] == 0


async def test_event_definition_lifecycle(api, application, bundle):
    spec = {"type": "ASYNC_API", "format": "JSON", "data": '{"asyncapi": "2.0.0"}'}
    data = await api.data(
        """mutation($bundle: ID!, $in: EventDefinitionInput!) {
          addEventDefinitionToBundle(bundleID: $bundle, in: $in) { id name group spec { type } }
        }""",
        {"bundle": bundle, "in": {"name": "order-events", "group": "orders", "spec": spec}},
    )
    event = data["addEventDefinitionToBundle"]
    assert event["spec"] == {"type": "ASYNC_API"}
    error = await api.error(
        """mutation($id: ID!) { updateEventDefinition(id: $id, in: {name: "e",
          spec: {type: ASYNC_API, format: XML, data: "<a/>"}}) { id } }""",
        {"id": event["id"]},
    )
    assert error_code(error) == 22
    await api.data(
        'mutation($id: ID!) { updateEventDefinition(id: $id, in: {name: "renamed"}) { id } }',
        {"id": event["id"]},
    )
    read = await _bundle(api, application, bundle)
    assert read["eventDefinitions"]["data"] == [{"id": event["id"], "name": "renamed"}]
    await api.data("mutation($id: ID!) { deleteEventDefinition(id: $id) { id } }", event)
    assert (await _bundle(api, application, bundle))["eventDefinitions"]["totalCount"] == 0


async def test_document_lifecycle(api, application, bundle):
    document = {
        "title": "Guide",
        "displayName": "Guide",
        "description": "How to",
        "format": "MARKDOWN",
        "kind": "tutorial",
        "data": "# Guide",
    }
    data = await api.data(
        """mutation($bundle: ID!, $in: DocumentInput!) {
          addDocumentToBundle(bundleID: $bundle, in: $in) {
            id title displayName description format kind data } }""",
        {"bundle": bundle, "in": document},
    )
    created = data["addDocumentToBundle"]
    assert {k: v for k, v in created.items() if k != "id"} == document
    error = await api.error(
        """mutation($bundle: ID!) { addDocumentToBundle(bundleID: $bundle, in: {title: "t",
          displayName: "d", description: "x", format: MARKDOWN}) { id } }""",
        {"bundle": bundle},
    )
    assert error_code(error) == 22
    await api.data("mutation($id: ID!) { deleteDocument(id: $id) { id } }", created)
    assert (await _bundle(api, application, bundle))["documents"]["totalCount"] == 0


@pytest.mark.parametrize("description", ["", "   "])
async def test_document_description_is_required(api, application, bundle, description):
    """Upstream: a document's description must not be blank."""
    document = {"title": "Guide", "displayName": "Guide", "format": "MARKDOWN"}
    error = await api.error(
        """mutation($bundle: ID!, $in: DocumentInput!) {
          addDocumentToBundle(bundleID: $bundle, in: $in) { id } }""",
        {"bundle": bundle, "in": {**document, "description": description}},
    )
    assert error_code(error) == 22
    assert "description" in error["message"]
    assert (await _bundle(api, application, bundle))["documents"]["totalCount"] == 0


async def test_definitions_page_and_filter_by_group(api, application, bundle):
    for i in range(5):
        group = "even" if i % 2 == 0 else "odd"
        await api.data(ADD_API, {"bundle": bundle, "in": api_input(f"api-{i}", group=group)})
    query = """query($app: ID!, $bundle: ID!, $group: String, $after: PageCursor) {
      application(id: $app) { bundle(id: $bundle) {
        apiDefinitions(group: $group, first: 2, after: $after) {
          totalCount pageInfo { endCursor hasNextPage } data { name } } } } }"""
    names, after = [], None
    for _ in range(5):
        data = await api.data(query, {"app": application, "bundle": bundle, "after": after})
        page = data["application"]["bundle"]["apiDefinitions"]
        assert page["totalCount"] == 5
        names += [item["name"] for item in page["data"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert names == [f"api-{i}" for i in range(5)]
    data = await api.data(query, {"app": application, "bundle": bundle, "group": "odd"})
    page = data["application"]["bundle"]["apiDefinitions"]
    assert page["totalCount"] == 2
    assert [item["name"] for item in page["data"]] == ["api-1", "api-3"]


async def test_nested_page_size_is_checked(api, application, bundle):
    error = await api.error(
        "query($app: ID!) { application(id: $app) { bundles(first: 201) { totalCount } } }",
        {"app": application},
    )
    assert error_code(error) == 22


async def test_bundle_of_another_application_is_null(api, bundle):
    other = await api.data(REGISTER, {"in": {"name": "other"}})
    assert await _bundle(api, other["registerApplication"]["id"], bundle) is None


async def test_bundle_operations_need_application_write(api, application, bundle):
    token = api.mint(scopes=["application:read"])
    error = await api.error(ADD_BUNDLE, {"app": application, "in": {"name": "b"}}, token=token)
    assert error_code(error) == 23
    error = await api.error(ADD_API, {"bundle": bundle, "in": api_input()}, token=token)
    assert error_code(error) == 23


async def test_bundles_of_another_tenant_are_invisible_and_untouchable(api, settings, bundle):
    other = await create_tenant(settings, "other")
    error = await api.error(
        ADD_API, {"bundle": bundle, "in": api_input()}, tenant=other.id, token=api.mint(tenant=None)
    )
    assert error_code(error) == 20
    error = await api.error(
        "mutation($id: ID!) { deleteBundle(id: $id) { id } }",
        {"id": bundle},
        tenant=other.id,
        token=api.mint(tenant=None),
    )
    assert error_code(error) == 20


async def test_third_party_credentials_need_the_scope_of_their_family(api):
    """A reader with application:read alone sees null, not the credentials."""
    app_id = (
        await api.data(
            'mutation { registerApplication(in: {name: "shop"}) { id } }',
        )
    )["registerApplication"]["id"]
    basic = {"credential": {"basic": {"username": "shop", "password": "secret"}}}
    bundle = await api.data(
        """mutation($app: ID!, $in: BundleCreateInput!) {
          addBundle(applicationID: $app, in: $in) { id } }""",
        {
            "app": app_id,
            "in": {
                "name": "orders",
                "defaultInstanceAuth": basic,
                "documents": [
                    {
                        "title": "guide",
                        "displayName": "Guide",
                        "description": "how to",
                        "format": "MARKDOWN",
                        "fetchRequest": {"url": "https://docs.example.com/g.md", "auth": basic},
                    }
                ],
            },
        },
    )
    query = """query($app: ID!) { application(id: $app) { bundles { data {
      defaultInstanceAuth { credential { ... on BasicCredentialData { password } } }
      documents { data { fetchRequest { auth { credential {
        ... on BasicCredentialData { password } } } } } } } } } }"""
    assert bundle["addBundle"]["id"]
    reader = api.mint(scopes=["application:read"])
    [seen] = (await api.data(query, {"app": app_id}, token=reader))["application"]["bundles"][
        "data"
    ]
    assert seen["defaultInstanceAuth"] is None
    assert seen["documents"]["data"][0]["fetchRequest"]["auth"] is None
    [full] = (await api.data(query, {"app": app_id}))["application"]["bundles"]["data"]
    assert full["defaultInstanceAuth"]["credential"]["password"] == "secret"
    fetch = full["documents"]["data"][0]["fetchRequest"]
    assert fetch["auth"]["credential"]["password"] == "secret"
