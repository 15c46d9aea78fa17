from dataclasses import dataclass

import pytest

from tests.api.tenancy import create_tenant
from tests.conftest import error_code

SIZE_SCHEMA = '{"type": "integer"}'


@dataclass
class TenantA:
    """Objects of the default tenant, and a token for a second tenant B."""

    application: dict
    runtime: dict
    context: dict
    token_b: str


async def snapshot(api) -> dict:
    return await api.data(
        """{
        applications { data { id name description labels } }
        runtimes { data { id name description labels } }
        runtimeContexts { data { id key value labels } }
        labelDefinitions { key schema }
    }"""
    )


@pytest.fixture
async def world(api) -> TenantA:
    await api.data(
        'mutation($s: JSONSchema) { createLabelDefinition(in: {key: "size", schema: $s}) { key } }',
        {"s": SIZE_SCHEMA},
    )
    app = await api.data(
        'mutation { registerApplication(in: {name: "shop", labels: {env: "dev", size: 1}}) '
        "{ id name } }"
    )
    runtime = await api.data(
        'mutation { registerRuntime(in: {name: "cluster", labels: {env: "dev", '
        'scenarios: ["DEFAULT"]}}) { id name } }'
    )
    runtime_id = runtime["registerRuntime"]["id"]
    context = await api.data(
        'mutation($rt: ID) { registerRuntimeContext(in: {key: "ns", value: "a", '
        'labels: {env: "dev"}}, runtimeID: $rt) { id } }',
        {"rt": runtime_id},
    )
    tenant_b = await create_tenant(api.settings, "tenant-b", "tenant-b-external")
    return TenantA(
        app["registerApplication"],
        runtime["registerRuntime"],
        context["registerRuntimeContext"],
        api.mint(tenant=tenant_b.id),
    )


async def test_single_queries_of_other_tenant_are_null(api, world):
    data = await api.data(
        """query($app: ID!, $rt: ID!, $ctx: ID!) {
            application(id: $app) { id }
            runtime(id: $rt) { id }
            runtimeContext(id: $ctx) { id }
            labelDefinition(key: "size") { key }
        }""",
        {"app": world.application["id"], "rt": world.runtime["id"], "ctx": world.context["id"]},
        token=world.token_b,
    )
    assert data == {
        "application": None,
        "runtime": None,
        "runtimeContext": None,
        "labelDefinition": None,
    }


async def test_lists_of_other_tenant_are_empty(api, world):
    data = await api.data(
        """{
            applications { totalCount data { id } }
            runtimes { totalCount data { id } }
            runtimeContexts { totalCount data { id } }
            labelDefinitions { key }
        }""",
        token=world.token_b,
    )
    assert data["applications"] == {"totalCount": 0, "data": []}
    assert data["runtimes"] == {"totalCount": 0, "data": []}
    assert data["runtimeContexts"] == {"totalCount": 0, "data": []}
    assert data["labelDefinitions"] == [{"key": "scenarios"}]


FILTERED_COUNTS = """{
    applications(filter: [{key: "env", query: "\\"dev\\""}]) { totalCount }
    runtimes(filter: [{key: "scenarios", query: "$[*] ? (@ == \\"DEFAULT\\")"}]) { totalCount }
    runtimeContexts(filter: [{key: "env"}]) { totalCount }
}"""


async def test_label_filters_match_only_own_tenant(api, world):
    own = await api.data(FILTERED_COUNTS)
    assert own == {
        "applications": {"totalCount": 1},
        "runtimes": {"totalCount": 1},
        "runtimeContexts": {"totalCount": 1},
    }
    other = await api.data(FILTERED_COUNTS, token=world.token_b)
    assert other == {
        "applications": {"totalCount": 0},
        "runtimes": {"totalCount": 0},
        "runtimeContexts": {"totalCount": 0},
    }


async def test_applications_for_runtime_of_other_tenant_is_not_found(api, world):
    query = "query($rt: ID!) { applicationsForRuntime(runtimeID: $rt) { data { id } } }"
    own = await api.data(query, {"rt": world.runtime["id"]})
    assert own["applicationsForRuntime"]["data"] == [{"id": world.application["id"]}]
    error = await api.error(query, {"rt": world.runtime["id"]}, token=world.token_b)
    assert error_code(error) == 20


MUTATIONS_OF_OTHER_TENANT = [
    'mutation($app: ID!) { updateApplication(id: $app, in: {description: "x"}) { id } }',
    "mutation($app: ID!) { unregisterApplication(id: $app) { id } }",
    'mutation($app: ID!) { setApplicationLabel(applicationID: $app, key: "env", value: "x") '
    "{ key } }",
    'mutation($app: ID!) { deleteApplicationLabel(applicationID: $app, key: "env") { key } }',
    'mutation($rt: ID!) { updateRuntime(id: $rt, in: {name: "taken"}) { id } }',
    "mutation($rt: ID!) { unregisterRuntime(id: $rt) { id } }",
    'mutation($rt: ID!) { setRuntimeLabel(runtimeID: $rt, key: "env", value: "x") { key } }',
    'mutation($rt: ID!) { deleteRuntimeLabel(runtimeID: $rt, key: "env") { key } }',
    'mutation($rt: ID) { registerRuntimeContext(in: {key: "k", value: "v"}, runtimeID: $rt) '
    "{ id } }",
    'mutation($ctx: ID!) { updateRuntimeContext(id: $ctx, in: {key: "k", value: "v"}) { id } }',
    "mutation($ctx: ID!) { unregisterRuntimeContext(id: $ctx) { id } }",
    'mutation { updateLabelDefinition(in: {key: "size", schema: "{}"}) { key } }',
    'mutation { deleteLabelDefinition(key: "size", deleteRelatedLabels: true) { key } }',
]


@pytest.mark.parametrize("mutation", MUTATIONS_OF_OTHER_TENANT)
async def test_objects_of_other_tenant_cannot_be_modified(api, world, mutation):
    before = await snapshot(api)
    variables = {"app": world.application["id"], "rt": world.runtime["id"]}
    variables["ctx"] = world.context["id"]
    used = {name: value for name, value in variables.items() if f"${name}" in mutation}
    error = await api.error(mutation, used, token=world.token_b)
    assert error_code(error) == 20
    assert await snapshot(api) == before


async def test_names_may_repeat_across_tenants(api, world):
    data = await api.data(
        """mutation {
            createLabelDefinition(in: {key: "size", schema: "{\\"type\\": \\"string\\"}"}) { key }
            registerApplication(in: {name: "shop", labels: {size: "big"}}) { name labels }
            registerRuntime(in: {name: "cluster"}) { name }
        }""",
        token=world.token_b,
    )
    assert data["registerApplication"] == {
        "name": "shop",
        "labels": {"scenarios": ["DEFAULT"], "size": "big"},
    }
    assert data["registerRuntime"] == {"name": "cluster"}
    own = await api.data('{ labelDefinition(key: "size") { schema } }')
    assert own["labelDefinition"]["schema"] == '{"type": "integer"}'


async def test_label_definition_change_checks_own_labels_only(api, world):
    await api.data(
        'mutation { registerApplication(in: {name: "b", labels: {env: 7}}) { id } }',
        token=world.token_b,
    )
    data = await api.data(
        'mutation { updateLabelDefinition(in: {key: "env", schema: "{\\"type\\": \\"integer\\"}"}) '
        "{ key } }",
        token=world.token_b,
    )
    assert data["updateLabelDefinition"] == {"key": "env"}
    own = await api.data('{ labelDefinition(key: "env") { schema } }')
    assert own["labelDefinition"]["schema"] is None


async def test_deleting_related_labels_spares_other_tenant(api, world):
    await api.data(
        'mutation { registerApplication(in: {name: "b", labels: {env: "x"}}) { id } }',
        token=world.token_b,
    )
    await api.data(
        'mutation { deleteLabelDefinition(key: "env", deleteRelatedLabels: true) { key } }',
        token=world.token_b,
    )
    data = await api.data(
        "query($id: ID!) { application(id: $id) { labels } }", {"id": world.application["id"]}
    )
    assert data["application"]["labels"]["env"] == "dev"


async def test_scenarios_definitions_are_per_tenant(api, world):
    await api.data(
        'mutation { updateLabelDefinition(in: {key: "scenarios", schema: '
        '"{\\"type\\":\\"array\\",\\"uniqueItems\\":true,\\"items\\":{\\"type\\":\\"string\\",'
        '\\"enum\\":[\\"DEFAULT\\",\\"BLUE\\"]}}"}) { key } }',
        token=world.token_b,
    )
    error = await api.error(
        'mutation($id: ID!) { setRuntimeLabel(runtimeID: $id, key: "scenarios", value: ["BLUE"]) '
        "{ key } }",
        {"id": world.runtime["id"]},
    )
    assert error_code(error) == 22
