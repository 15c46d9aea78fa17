"""Labels on applications and runtimes, their definitions, and label filters."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import error_code

MISSING_ID = "00000000-0000-0000-0000-000000000000"

SET_APP = """mutation($id: ID!, $key: String!, $value: Any!) {
  setApplicationLabel(applicationID: $id, key: $key, value: $value) { key value }
}"""
DELETE_APP = """mutation($id: ID!, $key: String!) {
  deleteApplicationLabel(applicationID: $id, key: $key) { key value }
}"""
SET_RUNTIME = """mutation($id: ID!, $key: String!, $value: Any!) {
  setRuntimeLabel(runtimeID: $id, key: $key, value: $value) { key value }
}"""
DELETE_RUNTIME = """mutation($id: ID!, $key: String!) {
  deleteRuntimeLabel(runtimeID: $id, key: $key) { key value }
}"""
APP_LABELS = "query($id: ID!, $key: String) { application(id: $id) { labels(key: $key) } }"
RUNTIME_LABELS = "query($id: ID!, $key: String) { runtime(id: $id) { labels(key: $key) } }"
APPS = """query($filter: [LabelFilter!]) {
  applications(filter: $filter) { totalCount data { name } }
}"""
RUNTIMES = """query($filter: [LabelFilter!]) {
  runtimes(filter: $filter) { totalCount data { name } }
}"""
DEFINITION = "query($key: String!) { labelDefinition(key: $key) { key schema } }"
CREATE_DEFINITION = """mutation($in: LabelDefinitionInput!) {
  createLabelDefinition(in: $in) { key schema }
}"""


async def new_app(api: Any, name: str = "shop", labels: dict[str, Any] | None = None) -> str:
    data = await api.data(
        "mutation($in: ApplicationRegisterInput!) { registerApplication(in: $in) { id } }",
        {"in": {"name": name, "labels": labels}},
    )
    return data["registerApplication"]["id"]


async def new_runtime(api: Any, name: str = "rt", labels: dict[str, Any] | None = None) -> str:
    data = await api.data(
        "mutation($in: RuntimeInput!) { registerRuntime(in: $in) { id } }",
        {"in": {"name": name, "labels": labels}},
    )
    return data["registerRuntime"]["id"]


async def app_labels(api: Any, object_id: str, key: str | None = None) -> Any:
    return (await api.data(APP_LABELS, {"id": object_id, "key": key}))["application"]["labels"]


async def runtime_labels(api: Any, object_id: str, key: str | None = None) -> Any:
    return (await api.data(RUNTIME_LABELS, {"id": object_id, "key": key}))["runtime"]["labels"]


async def define(api: Any, key: str, schema: Any) -> None:
    await api.data(CREATE_DEFINITION, {"in": {"key": key, "schema": json.dumps(schema)}})


# Application labels


@pytest.mark.parametrize(
    "value", ["prod", 42, 1.5, True, ["a", "b"], {"nested": {"list": [1, None]}}]
)
async def test_set_application_label_stores_any_json_value(api, value):
    app = await new_app(api)
    label = await api.data(SET_APP, {"id": app, "key": "k", "value": value})
    assert label["setApplicationLabel"] == {"key": "k", "value": value}
    assert await app_labels(api, app) == {"k": value, "scenarios": ["DEFAULT"]}


async def test_set_application_label_replaces_the_value(api):
    app = await new_app(api, labels={"env": "dev"})
    await api.data(SET_APP, {"id": app, "key": "env", "value": "prod"})
    assert await app_labels(api, app, "env") == {"env": "prod"}


async def test_application_labels_by_key(api):
    app = await new_app(api, labels={"env": "prod", "team": ["a"]})
    assert await app_labels(api, app, "team") == {"team": ["a"]}
    assert await app_labels(api, app, "absent") == {}
    assert await app_labels(api, app) == {
        "env": "prod",
        "team": ["a"],
        "scenarios": ["DEFAULT"],
    }


async def test_labels_belong_to_their_application(api):
    one = await new_app(api, "one")
    two = await new_app(api, "two")
    await api.data(SET_APP, {"id": one, "key": "env", "value": "prod"})
    assert await app_labels(api, two) == {"scenarios": ["DEFAULT"]}


async def test_delete_application_label_returns_it_and_removes_it(api):
    app = await new_app(api, labels={"env": "prod", "team": "a"})
    deleted = await api.data(DELETE_APP, {"id": app, "key": "env"})
    assert deleted["deleteApplicationLabel"] == {"key": "env", "value": "prod"}
    assert await app_labels(api, app) == {"team": "a", "scenarios": ["DEFAULT"]}


async def test_delete_missing_application_label_is_not_found(api):
    app = await new_app(api)
    error = await api.error(DELETE_APP, {"id": app, "key": "env"})
    assert error_code(error) == 20


async def test_label_on_missing_application_is_not_found(api):
    error = await api.error(SET_APP, {"id": MISSING_ID, "key": "env", "value": "x"})
    assert error_code(error) == 20
    error = await api.error(DELETE_APP, {"id": MISSING_ID, "key": "env"})
    assert error_code(error) == 20


async def test_label_on_missing_application_creates_no_definition(api):
    await api.error(SET_APP, {"id": MISSING_ID, "key": "env", "value": "x"})
    assert (await api.data(DEFINITION, {"key": "env"}))["labelDefinition"] is None


# Runtime labels


async def test_set_runtime_label_and_read_it(api):
    runtime = await new_runtime(api)
    label = await api.data(SET_RUNTIME, {"id": runtime, "key": "region", "value": ["eu"]})
    assert label["setRuntimeLabel"] == {"key": "region", "value": ["eu"]}
    assert await runtime_labels(api, runtime) == {"region": ["eu"], "scenarios": ["DEFAULT"]}


async def test_set_runtime_label_replaces_the_value(api):
    runtime = await new_runtime(api, labels={"region": "eu"})
    await api.data(SET_RUNTIME, {"id": runtime, "key": "region", "value": "us"})
    assert await runtime_labels(api, runtime) == {"region": "us", "scenarios": ["DEFAULT"]}


async def test_runtime_labels_by_key(api):
    runtime = await new_runtime(api, labels={"region": "eu", "size": 3})
    assert await runtime_labels(api, runtime, "size") == {"size": 3}
    assert await runtime_labels(api, runtime, "absent") == {}


async def test_delete_runtime_label_returns_it_and_removes_it(api):
    runtime = await new_runtime(api, labels={"region": "eu", "size": 3})
    deleted = await api.data(DELETE_RUNTIME, {"id": runtime, "key": "size"})
    assert deleted["deleteRuntimeLabel"] == {"key": "size", "value": 3}
    assert await runtime_labels(api, runtime) == {"region": "eu", "scenarios": ["DEFAULT"]}


async def test_delete_missing_runtime_label_is_not_found(api):
    runtime = await new_runtime(api)
    assert error_code(await api.error(DELETE_RUNTIME, {"id": runtime, "key": "x"})) == 20


async def test_label_on_missing_runtime_is_not_found(api):
    error = await api.error(SET_RUNTIME, {"id": MISSING_ID, "key": "env", "value": "x"})
    assert error_code(error) == 20
    error = await api.error(DELETE_RUNTIME, {"id": MISSING_ID, "key": "env"})
    assert error_code(error) == 20


async def test_application_id_is_not_a_runtime(api):
    app = await new_app(api)
    error = await api.error(SET_RUNTIME, {"id": app, "key": "env", "value": "x"})
    assert error_code(error) == 20


# Keys, definitions, values

INVALID_KEYS = ["", "has space", "with-dash", "dot.key", "slash/key", "ümlaut", "k" * 257]


@pytest.mark.parametrize("key", INVALID_KEYS)
async def test_invalid_application_label_key_is_invalid_data(api, key):
    app = await new_app(api)
    assert error_code(await api.error(SET_APP, {"id": app, "key": key, "value": "x"})) == 22


@pytest.mark.parametrize("key", INVALID_KEYS)
async def test_invalid_runtime_label_key_is_invalid_data(api, key):
    runtime = await new_runtime(api)
    error = await api.error(SET_RUNTIME, {"id": runtime, "key": key, "value": "x"})
    assert error_code(error) == 22


async def test_invalid_label_key_in_registration_is_invalid_data(api):
    error = await api.error(
        "mutation($in: ApplicationRegisterInput!) { registerApplication(in: $in) { id } }",
        {"in": {"name": "shop", "labels": {"bad key": "x"}}},
    )
    assert error_code(error) == 22


async def test_valid_label_key_characters(api):
    app = await new_app(api)
    key = "Key_with_09" + "k" * 245
    assert len(key) == 256
    await api.data(SET_APP, {"id": app, "key": key, "value": 1})
    assert await app_labels(api, app, key) == {key: 1}


async def test_label_without_definition_creates_one(api):
    app = await new_app(api)
    assert (await api.data(DEFINITION, {"key": "env"}))["labelDefinition"] is None
    await api.data(SET_APP, {"id": app, "key": "env", "value": "prod"})
    definition = (await api.data(DEFINITION, {"key": "env"}))["labelDefinition"]
    assert definition == {"key": "env", "schema": None}
    keys = await api.data("{ labelDefinitions { key } }")
    assert {d["key"] for d in keys["labelDefinitions"]} == {"scenarios", "env"}


async def test_runtime_label_without_definition_creates_one(api):
    runtime = await new_runtime(api)
    await api.data(SET_RUNTIME, {"id": runtime, "key": "region", "value": "eu"})
    definition = (await api.data(DEFINITION, {"key": "region"}))["labelDefinition"]
    assert definition == {"key": "region", "schema": None}


async def test_existing_definition_is_kept_when_labels_are_set(api):
    schema = {"type": "string"}
    await define(api, "env", schema)
    app = await new_app(api)
    await api.data(SET_APP, {"id": app, "key": "env", "value": "prod"})
    definition = (await api.data(DEFINITION, {"key": "env"}))["labelDefinition"]
    assert json.loads(definition["schema"]) == schema


async def test_values_must_satisfy_the_definition_schema(api):
    await define(api, "size", {"type": "integer", "minimum": 1})
    app = await new_app(api)
    runtime = await new_runtime(api)
    for value in ["big", 0, [1], 2.5]:
        error = await api.error(SET_APP, {"id": app, "key": "size", "value": value})
        assert error_code(error) == 22, value
        error = await api.error(SET_RUNTIME, {"id": runtime, "key": "size", "value": value})
        assert error_code(error) == 22, value
    await api.data(SET_APP, {"id": app, "key": "size", "value": 3})
    await api.data(SET_RUNTIME, {"id": runtime, "key": "size", "value": 5})
    assert await app_labels(api, app, "size") == {"size": 3}
    assert await runtime_labels(api, runtime, "size") == {"size": 5}


async def test_invalid_value_is_explained(api):
    await define(api, "size", {"type": "integer"})
    app = await new_app(api)
    error = await api.error(SET_APP, {"id": app, "key": "size", "value": "big"})
    assert "size" in error["message"]
    assert "integer" in error["message"]


async def test_invalid_value_keeps_the_old_one(api):
    await define(api, "size", {"type": "integer"})
    app = await new_app(api, labels={"size": 1})
    await api.error(SET_APP, {"id": app, "key": "size", "value": "big"})
    assert await app_labels(api, app, "size") == {"size": 1}


async def test_registration_labels_are_validated(api):
    await define(api, "size", {"type": "integer"})
    error = await api.error(
        "mutation($in: RuntimeInput!) { registerRuntime(in: $in) { id } }",
        {"in": {"name": "rt", "labels": {"size": "big"}}},
    )
    assert error_code(error) == 22
    assert (await api.data(RUNTIMES))["runtimes"]["totalCount"] == 0


@pytest.mark.parametrize(
    "value", [["UNKNOWN"], ["DEFAULT", "UNKNOWN"], "DEFAULT", [], ["DEFAULT", "DEFAULT"], [1]]
)
async def test_scenarios_must_come_from_the_enum(api, value):
    app = await new_app(api)
    runtime = await new_runtime(api)
    error = await api.error(SET_APP, {"id": app, "key": "scenarios", "value": value})
    assert error_code(error) == 22
    error = await api.error(SET_RUNTIME, {"id": runtime, "key": "scenarios", "value": value})
    assert error_code(error) == 22
    assert await app_labels(api, app, "scenarios") == {"scenarios": ["DEFAULT"]}


async def test_scenarios_from_the_enum_are_accepted(api):
    runtime = await new_runtime(api)
    await api.data(SET_RUNTIME, {"id": runtime, "key": "scenarios", "value": ["DEFAULT"]})
    assert await runtime_labels(api, runtime) == {"scenarios": ["DEFAULT"]}


# Label filters


async def apps_matching(api: Any, *filters: dict[str, Any]) -> list[str]:
    page = (await api.data(APPS, {"filter": list(filters)}))["applications"]
    names = [a["name"] for a in page["data"]]
    assert page["totalCount"] == len(names)
    return names


async def runtimes_matching(api: Any, *filters: dict[str, Any]) -> list[str]:
    page = (await api.data(RUNTIMES, {"filter": list(filters)}))["runtimes"]
    names = [r["name"] for r in page["data"]]
    assert page["totalCount"] == len(names)
    return names


@pytest.fixture
async def labelled_apps(api):
    await new_app(api, "string-v", {"tag": "v"})
    await new_app(api, "string-vv", {"tag": "vv"})
    await new_app(api, "array-v", {"tag": ["v", "w"]})
    await new_app(api, "array-w", {"tag": ["w"]})
    await new_app(api, "object", {"tag": {"v": "v"}})
    await new_app(api, "number", {"tag": 1})
    await new_app(api, "no-tag", {"other": "v"})


async def test_filter_by_key(api, labelled_apps):
    assert await apps_matching(api, {"key": "tag"}) == [
        "string-v",
        "string-vv",
        "array-v",
        "array-w",
        "object",
        "number",
    ]


async def test_filter_by_missing_key_matches_nothing(api, labelled_apps):
    assert await apps_matching(api, {"key": "absent"}) == []


async def test_filter_by_value_equals(api, labelled_apps):
    assert await apps_matching(api, {"key": "tag", "query": '"v"'}) == ["string-v"]
    assert await apps_matching(api, {"key": "tag", "query": '"w"'}) == []


async def test_filter_by_value_with_spaces_around(api, labelled_apps):
    assert await apps_matching(api, {"key": "tag", "query": ' "vv" '}) == ["string-vv"]


async def test_filter_by_array_element(api, labelled_apps):
    query = '$[*] ? (@ == "v")'
    assert await apps_matching(api, {"key": "tag", "query": query}) == ["array-v"]
    query = '$[*] ? (@ == "w")'
    assert await apps_matching(api, {"key": "tag", "query": query}) == ["array-v", "array-w"]


async def test_filter_by_any_of_several_array_elements(api, labelled_apps):
    """Upstream accepts `$[*] ? (@ == "a" || @ == "b")`: the array holds any of them."""
    query = '$[*] ? (@ == "v" || @ == "w")'
    assert await apps_matching(api, {"key": "tag", "query": query}) == ["array-v", "array-w"]
    query = '$[*]?(@=="x"||@=="v"||@ == "y")'
    assert await apps_matching(api, {"key": "tag", "query": query}) == ["array-v"]
    await new_runtime(api, "rt-a", {"tag": ["a"]})
    await new_runtime(api, "rt-c", {"tag": ["c"]})
    query = '$[*] ? (@ == "a" || @ == "b")'
    assert await runtimes_matching(api, {"key": "tag", "query": query}) == ["rt-a"]


async def test_array_filter_does_not_match_a_plain_string(api):
    await new_app(api, "plain", {"tag": "v"})
    assert await apps_matching(api, {"key": "tag", "query": '$[*] ? (@ == "v")'}) == []


async def test_array_filter_does_not_match_other_element_types(api):
    await new_app(api, "numbers", {"tag": [1, 2]})
    await new_app(api, "nested", {"tag": [["v"]]})
    assert await apps_matching(api, {"key": "tag", "query": '$[*] ? (@ == "1")'}) == []
    assert await apps_matching(api, {"key": "tag", "query": '$[*] ? (@ == "v")'}) == []


async def test_filter_values_with_quotes_and_unicode(api):
    await new_app(api, "quoted", {"tag": 'say "hi"', "list": ["ü ñ", 'a"b']})
    await new_app(api, "plain", {"tag": "say hi", "list": ["u n"]})
    assert await apps_matching(api, {"key": "tag", "query": '"say \\"hi\\""'}) == ["quoted"]
    query = '$[*] ? (@ == "ü ñ")'
    assert await apps_matching(api, {"key": "list", "query": query}) == ["quoted"]
    query = '$[*] ? (@ == "a\\"b")'
    assert await apps_matching(api, {"key": "list", "query": query}) == ["quoted"]


async def test_filters_are_combined_with_and(api):
    await new_app(api, "both", {"env": "prod", "team": ["a"]})
    await new_app(api, "env-only", {"env": "prod"})
    await new_app(api, "team-only", {"team": ["a"]})
    found = await apps_matching(
        api, {"key": "env", "query": '"prod"'}, {"key": "team", "query": '$[*] ? (@ == "a")'}
    )
    assert found == ["both"]


async def test_scenario_filter(api):
    await new_app(api, "in-default")
    app = await new_app(api, "left")
    await api.data(DELETE_APP, {"id": app, "key": "scenarios"})
    query = '$[*] ? (@ == "DEFAULT")'
    assert await apps_matching(api, {"key": "scenarios", "query": query}) == ["in-default"]


async def test_filter_follows_label_changes(api):
    app = await new_app(api, "shop", {"env": "dev"})
    assert await apps_matching(api, {"key": "env", "query": '"prod"'}) == []
    await api.data(SET_APP, {"id": app, "key": "env", "value": "prod"})
    assert await apps_matching(api, {"key": "env", "query": '"prod"'}) == ["shop"]
    await api.data(DELETE_APP, {"id": app, "key": "env"})
    assert await apps_matching(api, {"key": "env"}) == []


async def test_runtime_filters(api):
    await new_runtime(api, "string-v", {"tag": "v"})
    await new_runtime(api, "array-v", {"tag": ["v"]})
    await new_runtime(api, "untagged")
    assert await runtimes_matching(api, {"key": "tag"}) == ["string-v", "array-v"]
    assert await runtimes_matching(api, {"key": "tag", "query": '"v"'}) == ["string-v"]
    query = '$[*] ? (@ == "v")'
    assert await runtimes_matching(api, {"key": "tag", "query": query}) == ["array-v"]


async def test_filters_do_not_cross_object_kinds(api):
    await new_app(api, "app", {"tag": "v"})
    await new_runtime(api, "rt")
    assert await runtimes_matching(api, {"key": "tag"}) == []


UNSUPPORTED_QUERIES = [
    "$.foo",
    "v",
    '"v',
    "5",
    "true",
    '["v"]',
    "$[*] ? (@ == v)",
    "$[*] ? (@ == 1)",
    '$[*] ? (@ != "v")',
    '$.tag[*] ? (@ == "v")',
    '$[*] ? (@ == "v" && @ == "w")',
    '$[*] ? (@ == "v" ||)',
    '$[*] ? (@ == "v" || @ == 1)',
    '$[*] ? (@ == "v") || $[*] ? (@ == "w")',
    "",
]


@pytest.mark.parametrize("query", UNSUPPORTED_QUERIES)
async def test_unsupported_application_filter_is_invalid_data(api, query):
    error = await api.error(APPS, {"filter": [{"key": "tag", "query": query}]})
    assert error_code(error) == 22
    assert "not supported" in error["message"]


@pytest.mark.parametrize("query", ["$.foo", "v"])
async def test_unsupported_runtime_filter_is_invalid_data(api, query):
    error = await api.error(RUNTIMES, {"filter": [{"key": "tag", "query": query}]})
    assert error_code(error) == 22
    assert "not supported" in error["message"]
