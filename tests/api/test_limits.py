"""Query cost, body size, label value, spec and JSON Schema limits: each refusal
comes before any work is done and names its limit."""

from __future__ import annotations

import json

import pytest

from compass.agent import director
from tests.conftest import error_code

SET_LABEL = """mutation($id: ID!, $key: String!, $value: Any!) {
  setApplicationLabel(applicationID: $id, key: $key, value: $value) { key } }"""
CREATE_DEFINITION = """mutation($schema: JSONSchema) {
  createLabelDefinition(in: {key: "k", schema: $schema}) { key } }"""


async def _app_id(api) -> str:
    return (await api.data('mutation { registerApplication(in: {name: "app"}) { id } }'))[
        "registerApplication"
    ]["id"]


async def test_the_agents_queries_pass_the_limits(api):
    for query, variables in [
        (director.APPLICATIONS, {"id": "x"}),
        (director.MORE_BUNDLES, {"app": "x"}),
        *((q, {"app": "x", "bundle": "y"}) for q in director.MORE_DEFINITIONS.values()),
    ]:
        body = await api.post(query, variables)
        for error in body.get("errors", []):
            assert "exceeds" not in error["message"] and "limit" not in error["message"], error


async def test_too_many_aliases_are_refused_before_they_run(api):
    query = "{ " + " ".join(f"a{i}: applications {{ totalCount }}" for i in range(300)) + " }"
    error = await api.error(query)
    assert error_code(error) == 22
    assert "aliases" in error["message"] and "max_query_aliases" in error["message"]


async def test_a_thousand_mutation_aliases_are_refused_with_a_code(api):
    query = (
        "mutation { "
        + " ".join(f'a{i}: registerApplication(in: {{name: "a{i}"}}) {{ id }}' for i in range(1000))
        + " }"
    )
    body = await api.post(query)
    assert body["errors"]
    assert all(error_code(e) == 22 for e in body["errors"]), body["errors"][0]
    assert (await api.data("{ applications { totalCount } }"))["applications"]["totalCount"] == 0


async def test_too_deep_queries_are_refused(api):
    levels = "bundles { data { " * 10
    deep = "{ applications { data { " + levels + "id" + " } }" * 10 + " } } }"
    error = (await api.post(deep))["errors"][0]
    assert error_code(error) == 22
    assert "depth" in error["message"] and "max_query_depth" in error["message"]
    body = await api.post("{ applications { data { labels bundles { data { id } } } } }")
    assert body.get("errors") is None


async def test_too_many_tokens_are_refused(api):
    query = "{ applications { " + "totalCount " * 20_000 + "} }"
    error = await api.error(query)
    assert error_code(error) == 22
    assert "tokens" in error["message"] and "max_query_tokens" in error["message"]


async def test_request_body_over_the_limit_is_413(api):
    body = json.dumps({"query": "{ applications { totalCount } }", "x": "a" * (5 * 1024 * 1024)})
    response = await api.client.post(
        "/graphql",
        content=body.encode(),
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    error = response.json()["errors"][0]
    assert error_code(error) == 22
    assert "bytes" in error["message"]


async def test_label_value_over_the_limit_is_invalid_data(api):
    app_id = await _app_id(api)
    error = await api.error(SET_LABEL, {"id": app_id, "key": "k", "value": "a" * 70_000})
    assert error_code(error) == 22
    assert "65536 bytes" in error["message"]
    await api.data(SET_LABEL, {"id": app_id, "key": "k", "value": "a" * 60_000})


async def test_inline_spec_over_the_limit_is_invalid_data(api):
    app_id = await _app_id(api)
    spec = json.dumps({"openapi": "3.0.0", "x": "a" * (1024 * 1024)})
    error = await api.error(
        """mutation($id: ID!, $data: CLOB) { addBundle(applicationID: $id, in: {name: "b",
        apiDefinitions: [{name: "api", targetURL: "https://x.example",
        spec: {data: $data, type: OPEN_API, format: JSON}}]}) { id } }""",
        {"id": app_id, "data": spec},
    )
    assert error_code(error) == 22
    assert "1048576 bytes" in error["message"]


@pytest.mark.parametrize("spec_format", ["JSON", "YAML"])
async def test_deeply_nested_spec_is_invalid_data(api, spec_format):
    app_id = await _app_id(api)
    spec = "[" * 100_000 + "]" * 100_000
    error = await api.error(
        """mutation($id: ID!, $data: CLOB, $format: SpecFormat!) { addBundle(
        applicationID: $id, in: {name: "b", apiDefinitions: [{name: "api", targetURL: "https://x.example",
        spec: {data: $data, type: OPEN_API, format: $format}}]}) { id } }""",
        {"id": app_id, "data": spec, "format": spec_format},
    )
    assert error_code(error) == 22


def _nested_schema(levels: int) -> dict:
    schema: dict = {}
    for _ in range(levels):
        schema = {"items": schema}
    return schema


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#"},
        {"allOf": [{"$ref": "#"}]},
        {"$ref": "https://example.com/schema.json"},
        {"$ref": "file:///etc/passwd"},
        {"type": "string", "pattern": "^(a+)+$"},
        {"patternProperties": {"^(a|b+)*$": {}}},
        {"type": "string", "pattern": "^(a)\\1$"},
        _nested_schema(300),
    ],
    ids=[
        "self-ref",
        "self-ref-in-allOf",
        "remote-ref",
        "file-ref",
        "redos-pattern",
        "redos-pattern-properties",
        "back-reference",
        "too-deep",
    ],
)
async def test_dangerous_json_schemas_are_refused_at_save(api, schema):
    error = await api.error(CREATE_DEFINITION, {"schema": json.dumps(schema)})
    assert error_code(error) == 22


async def test_local_refs_still_work(api):
    schema = {"$defs": {"s": {"type": "string"}}, "$ref": "#/$defs/s"}
    await api.data(CREATE_DEFINITION, {"schema": json.dumps(schema)})
    app_id = await _app_id(api)
    error = await api.error(SET_LABEL, {"id": app_id, "key": "k", "value": 1})
    assert error_code(error) == 22
    await api.data(SET_LABEL, {"id": app_id, "key": "k", "value": "s"})


async def test_patterns_match_on_a_linear_engine(api):
    """Repetition side by side (not nested) is allowed; on a backtracking engine
    `^a*a*a*c$` against a long run of `a` takes cubic time, on RE2 linear."""
    schema = {"type": "string", "pattern": "^a*a*a*c$"}
    await api.data(CREATE_DEFINITION, {"schema": json.dumps(schema)})
    app_id = await _app_id(api)
    error = await api.error(SET_LABEL, {"id": app_id, "key": "k", "value": "a" * 3000})
    assert error_code(error) == 22
    assert "does not match" in error["message"]
    await api.data(SET_LABEL, {"id": app_id, "key": "k", "value": "a" * 3000 + "c"})
