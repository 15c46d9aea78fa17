"""Label definitions through the GraphQL API: JSON Schemas for label values,
the scenarios definition, and what happens to labels when a definition changes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from compass.domain.tenant.service import TenantService
from tests.conftest import error_code

CREATE = """mutation($in: LabelDefinitionInput!) {
  createLabelDefinition(in: $in) { key schema }
}"""
UPDATE = """mutation($in: LabelDefinitionInput!) {
  updateLabelDefinition(in: $in) { key schema }
}"""
DELETE = """mutation($key: String!, $related: Boolean) {
  deleteLabelDefinition(key: $key, deleteRelatedLabels: $related) { key schema }
}"""
GET = "query($key: String!) { labelDefinition(key: $key) { key schema } }"
LIST = "{ labelDefinitions { key schema } }"
SET_APP = """mutation($id: ID!, $key: String!, $value: Any!) {
  setApplicationLabel(applicationID: $id, key: $key, value: $value) { key value }
}"""
SET_RUNTIME = """mutation($id: ID!, $key: String!, $value: Any!) {
  setRuntimeLabel(runtimeID: $id, key: $key, value: $value) { key value }
}"""
APP_LABELS = "query($id: ID!) { application(id: $id) { labels } }"
RUNTIME_LABELS = "query($id: ID!) { runtime(id: $id) { labels } }"

DEFAULT_ONLY = ["DEFAULT"]


def scenarios_schema(*names: str) -> dict[str, Any]:
    return {
        "type": "array",
        "minItems": 1,
        "uniqueItems": True,
        "items": {"type": "string", "enum": list(names)},
    }


async def create(api: Any, key: str, schema: Any = None, **kw: Any) -> dict[str, Any]:
    text = None if schema is None else json.dumps(schema)
    return (await api.data(CREATE, {"in": {"key": key, "schema": text}}, **kw))[
        "createLabelDefinition"
    ]


async def update(api: Any, key: str, schema: Any) -> dict[str, Any]:
    text = None if schema is None else json.dumps(schema)
    return (await api.data(UPDATE, {"in": {"key": key, "schema": text}}))["updateLabelDefinition"]


async def update_error(api: Any, key: str, schema: Any) -> dict[str, Any]:
    return await api.error(UPDATE, {"in": {"key": key, "schema": json.dumps(schema)}})


async def get(api: Any, key: str, **kw: Any) -> dict[str, Any] | None:
    definition = (await api.data(GET, {"key": key}, **kw))["labelDefinition"]
    if definition is not None and definition["schema"] is not None:
        definition["schema"] = json.loads(definition["schema"])
    return definition


async def new_app(api: Any, name: str, labels: dict[str, Any] | None = None, **kw: Any) -> str:
    data = await api.data(
        "mutation($in: ApplicationRegisterInput!) { registerApplication(in: $in) { id } }",
        {"in": {"name": name, "labels": labels}},
        **kw,
    )
    return data["registerApplication"]["id"]


async def new_runtime(api: Any, name: str, labels: dict[str, Any] | None = None) -> str:
    data = await api.data(
        "mutation($in: RuntimeInput!) { registerRuntime(in: $in) { id } }",
        {"in": {"name": name, "labels": labels}},
    )
    return data["registerRuntime"]["id"]


async def app_labels(api: Any, app_id: str, **kw: Any) -> dict[str, Any]:
    return (await api.data(APP_LABELS, {"id": app_id}, **kw))["application"]["labels"]


async def runtime_labels(api: Any, runtime_id: str) -> dict[str, Any]:
    return (await api.data(RUNTIME_LABELS, {"id": runtime_id}))["runtime"]["labels"]


async def other_tenant_token(api: Any, app: Any, external_id: str = "other-tenant") -> str:
    async with app.state.compass.sessions() as session:
        await TenantService(session).create("other", external_id)
        await session.commit()
    return api.mint(tenant=external_id)


# createLabelDefinition, labelDefinition, labelDefinitions


async def test_create_with_schema(api):
    schema = {"type": "string", "enum": ["dev", "prod"]}
    created = await create(api, "env", schema)
    assert created["key"] == "env"
    assert json.loads(created["schema"]) == schema
    assert await get(api, "env") == {"key": "env", "schema": schema}


async def test_create_without_schema(api):
    assert await create(api, "env") == {"key": "env", "schema": None}
    assert await get(api, "env") == {"key": "env", "schema": None}


async def test_missing_definition_is_null(api):
    body = await api.post(GET, {"key": "absent"})
    assert body == {"data": {"labelDefinition": None}}


@pytest.mark.parametrize("text", ["{", "{'type': 'string'}", "not json", '{"type": "string"'])
async def test_create_with_invalid_json_is_invalid_data(api, text):
    error = await api.error(CREATE, {"in": {"key": "env", "schema": text}})
    assert error_code(error) == 22
    assert "JSON" in error["message"]
    assert await get(api, "env") is None


@pytest.mark.parametrize(
    "schema",
    [{"type": 5}, {"type": "text"}, {"minimum": "one"}, {"required": "a"}, "string", [1], 5],
)
async def test_create_with_something_not_a_json_schema_is_invalid_data(api, schema):
    error = await api.error(CREATE, {"in": {"key": "env", "schema": json.dumps(schema)}})
    assert error_code(error) == 22
    assert await get(api, "env") is None


async def test_create_duplicate_is_not_unique(api):
    await create(api, "env", {"type": "string"})
    error = await api.error(CREATE, {"in": {"key": "env"}})
    assert error_code(error) == 21
    assert (await get(api, "env"))["schema"] == {"type": "string"}


async def test_create_scenarios_is_not_unique(api):
    error = await api.error(
        CREATE, {"in": {"key": "scenarios", "schema": json.dumps(scenarios_schema("DEFAULT"))}}
    )
    assert error_code(error) == 21


async def test_create_after_a_label_made_one_is_not_unique(api):
    await new_app(api, "shop", {"env": "prod"})
    error = await api.error(CREATE, {"in": {"key": "env"}})
    assert error_code(error) == 21


@pytest.mark.parametrize("key", ["", "bad key", "with-dash", "k" * 257])
async def test_create_with_bad_key_is_invalid_data(api, key):
    error = await api.error(CREATE, {"in": {"key": key}})
    assert error_code(error) == 22


async def test_scenarios_definition_exists_from_the_start(api):
    definitions = (await api.data(LIST))["labelDefinitions"]
    assert [d["key"] for d in definitions] == ["scenarios"]
    schema = json.loads(definitions[0]["schema"])
    assert schema["type"] == "array"
    assert schema["items"]["enum"] == DEFAULT_ONLY
    assert await get(api, "scenarios") == {"key": "scenarios", "schema": schema}


async def test_definitions_list_scenarios_with_the_others(api):
    await create(api, "env", {"type": "string"})
    await create(api, "team")
    definitions = {d["key"]: d["schema"] for d in (await api.data(LIST))["labelDefinitions"]}
    assert set(definitions) == {"scenarios", "env", "team"}
    assert json.loads(definitions["env"]) == {"type": "string"}
    assert definitions["team"] is None
    assert json.loads(definitions["scenarios"])["items"]["enum"] == DEFAULT_ONLY


async def test_definitions_belong_to_their_tenant(api, app):
    await create(api, "env", {"type": "string"})
    token = await other_tenant_token(api, app)
    assert await get(api, "env", token=token) is None
    other = (await api.data(LIST, token=token))["labelDefinitions"]
    assert [d["key"] for d in other] == ["scenarios"]
    await create(api, "env", {"type": "integer"}, token=token)
    assert (await get(api, "env"))["schema"] == {"type": "string"}


# updateLabelDefinition


async def test_update_replaces_the_schema(api):
    await create(api, "env", {"type": "string"})
    updated = await update(api, "env", {"type": "string", "maxLength": 4})
    assert json.loads(updated["schema"]) == {"type": "string", "maxLength": 4}
    assert (await get(api, "env"))["schema"] == {"type": "string", "maxLength": 4}


async def test_update_applies_to_new_values(api):
    app = await new_app(api, "shop")
    await create(api, "env")
    await update(api, "env", {"type": "string", "maxLength": 4})
    error = await api.error(SET_APP, {"id": app, "key": "env", "value": "production"})
    assert error_code(error) == 22
    await api.data(SET_APP, {"id": app, "key": "env", "value": "prod"})


async def test_update_accepted_when_existing_labels_fit(api):
    app = await new_app(api, "shop", {"env": "prod"})
    await update(api, "env", {"type": "string", "enum": ["dev", "prod"]})
    assert (await app_labels(api, app))["env"] == "prod"


async def test_update_can_remove_the_schema(api):
    app = await new_app(api, "shop")
    await create(api, "size", {"type": "integer"})
    assert await update(api, "size", None) == {"key": "size", "schema": None}
    await api.data(SET_APP, {"id": app, "key": "size", "value": "big"})


async def test_update_rejected_when_labels_violate_it_names_the_objects(api):
    ok_app = await new_app(api, "ok", {"size": 5})
    bad_app = await new_app(api, "bad", {"size": "big"})
    bad_runtime = await new_runtime(api, "rt", {"size": [1]})
    error = await update_error(api, "size", {"type": "integer"})
    assert error_code(error) == 22
    assert bad_app in error["message"]
    assert bad_runtime in error["message"]
    assert ok_app not in error["message"]
    assert (await get(api, "size"))["schema"] is None
    assert (await app_labels(api, bad_app))["size"] == "big"


async def test_update_of_a_missing_definition_is_not_found(api):
    error = await update_error(api, "absent", {"type": "string"})
    assert error_code(error) == 20
    assert await get(api, "absent") is None


async def test_update_with_invalid_schema_is_invalid_data(api):
    await create(api, "env", {"type": "string"})
    error = await api.error(UPDATE, {"in": {"key": "env", "schema": "{nope"}})
    assert error_code(error) == 22
    assert error_code(await update_error(api, "env", {"type": 5})) == 22
    assert (await get(api, "env"))["schema"] == {"type": "string"}


# The scenarios definition


async def test_added_scenario_can_be_used(api):
    updated = await update(api, "scenarios", scenarios_schema("DEFAULT", "PROD"))
    assert json.loads(updated["schema"])["items"]["enum"] == ["DEFAULT", "PROD"]
    app = await new_app(api, "shop")
    await api.data(SET_APP, {"id": app, "key": "scenarios", "value": ["PROD"]})
    assert (await app_labels(api, app))["scenarios"] == ["PROD"]
    other = await new_app(api, "bank", {"scenarios": ["DEFAULT", "PROD"]})
    assert (await app_labels(api, other))["scenarios"] == ["DEFAULT", "PROD"]


async def test_scenario_not_yet_added_is_refused(api):
    app = await new_app(api, "shop")
    error = await api.error(SET_APP, {"id": app, "key": "scenarios", "value": ["PROD"]})
    assert error_code(error) == 22


async def test_removing_default_is_invalid_data(api):
    error = await update_error(api, "scenarios", scenarios_schema("PROD"))
    assert error_code(error) == 22
    assert "DEFAULT" in error["message"]
    assert (await get(api, "scenarios"))["schema"]["items"]["enum"] == DEFAULT_ONLY


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string"},
        {"type": "array", "items": {"type": "string", "enum": ["DEFAULT"]}},
        {"type": "array", "uniqueItems": True, "items": {"type": "string"}},
        {"type": "array", "uniqueItems": True, "items": {"type": "integer", "enum": [1]}},
    ],
)
async def test_scenarios_must_stay_a_list_of_unique_names(api, schema):
    assert error_code(await update_error(api, "scenarios", schema)) == 22


async def test_scenarios_schema_cannot_be_removed(api):
    error = await api.error(UPDATE, {"in": {"key": "scenarios", "schema": None}})
    assert error_code(error) == 22


async def test_removing_a_scenario_in_use_names_the_objects(api):
    await update(api, "scenarios", scenarios_schema("DEFAULT", "PROD"))
    app = await new_app(api, "shop", {"scenarios": ["PROD"]})
    runtime = await new_runtime(api, "rt", {"scenarios": ["PROD", "DEFAULT"]})
    await new_app(api, "untouched")
    error = await update_error(api, "scenarios", scenarios_schema("DEFAULT"))
    assert error_code(error) == 22
    assert app in error["message"]
    assert runtime in error["message"]


async def test_deleting_the_scenarios_definition_is_an_invalid_operation(api):
    for related in (False, True):
        error = await api.error(DELETE, {"key": "scenarios", "related": related})
        assert error_code(error) == 27
    assert (await get(api, "scenarios"))["schema"]["items"]["enum"] == DEFAULT_ONLY


# deleteLabelDefinition


async def test_delete_unused_definition(api):
    await create(api, "env", {"type": "string"})
    deleted = (await api.data(DELETE, {"key": "env"}))["deleteLabelDefinition"]
    assert deleted["key"] == "env"
    assert json.loads(deleted["schema"]) == {"type": "string"}
    assert await get(api, "env") is None


async def test_delete_used_definition_is_an_invalid_operation(api):
    app = await new_app(api, "shop", {"env": "prod"})
    for related in (None, False):
        error = await api.error(DELETE, {"key": "env", "related": related})
        assert error_code(error) == 27
        assert "deleteRelatedLabels" in error["message"]
    assert await get(api, "env") == {"key": "env", "schema": None}
    assert (await app_labels(api, app))["env"] == "prod"


async def test_delete_with_related_labels_removes_them(api):
    app = await new_app(api, "shop", {"env": "prod", "team": "a"})
    runtime = await new_runtime(api, "rt", {"env": "dev"})
    deleted = await api.data(DELETE, {"key": "env", "related": True})
    assert deleted["deleteLabelDefinition"]["key"] == "env"
    assert await get(api, "env") is None
    assert await app_labels(api, app) == {"team": "a", "scenarios": DEFAULT_ONLY}
    assert await runtime_labels(api, runtime) == {"scenarios": DEFAULT_ONLY}
    filtered = await api.data('{ applications(filter: [{key: "env"}]) { totalCount } }')
    assert filtered["applications"]["totalCount"] == 0


async def test_delete_with_related_labels_keeps_other_tenants_labels(api, app):
    token = await other_tenant_token(api, app)
    theirs = await new_app(api, "shop", {"env": "theirs"}, token=token)
    await new_app(api, "shop", {"env": "ours"})
    await api.data(DELETE, {"key": "env", "related": True})
    assert (await app_labels(api, theirs, token=token))["env"] == "theirs"
    assert await get(api, "env", token=token) == {"key": "env", "schema": None}


async def test_label_after_delete_creates_a_fresh_definition(api):
    app = await new_app(api, "shop")
    await create(api, "size", {"type": "integer"})
    await api.data(DELETE, {"key": "size"})
    await api.data(SET_APP, {"id": app, "key": "size", "value": "big"})
    assert await get(api, "size") == {"key": "size", "schema": None}


async def test_delete_of_a_missing_definition_is_not_found(api):
    error = await api.error(DELETE, {"key": "absent", "related": True})
    assert error_code(error) == 20
