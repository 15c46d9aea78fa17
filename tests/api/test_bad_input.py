"""Malformed requests and hostile values: HTTP 400 or InvalidData, never a 500,
InternalError or invalid JSON."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from tests.conftest import error_code

APP = 'mutation { registerApplication(in: {name: "app"}) { id } }'
SET_LABEL = """mutation($id: ID!, $key: String!, $value: Any!) {
  setApplicationLabel(applicationID: $id, key: $key, value: $value) { key value } }"""


async def _app_id(api) -> str:
    return (await api.data(APP))["registerApplication"]["id"]


async def _raw(api, body: bytes):
    return await api.client.post(
        "/graphql",
        content=body,
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
    )


@pytest.mark.parametrize(
    "body",
    [
        b'"x"',
        b"[1]",
        b'{"query": "{ applications { totalCount } }", "x": "\xff"}',
        b'{"query": "{ applications { totalCount } }", "variables": '
        + b'{"a": ' * 100_000
        + b"1"
        + b"}" * 100_001,
        b'{"query": "{ applications { totalCount } }", "variables": {"a": ' + b"9" * 5000 + b"}}",
    ],
    ids=["string", "list-of-number", "byte-ff", "nested-variables", "long-integer"],
)
async def test_malformed_body_is_400_with_a_graphql_error(api, body):
    response = await _raw(api, body)
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["error_code"] == 22
    assert "Traceback" not in response.text


async def test_long_integer_in_the_query_is_refused(api):
    response = await _raw(
        api,
        json.dumps({"query": "{ applications(first: %s) { totalCount } }" % ("9" * 5000)}).encode(),
    )
    assert response.status_code in (200, 400), response.text
    body = response.json()
    assert body["errors"]
    assert all(e.get("extensions", {}).get("error_code") != 10 for e in body["errors"])


@pytest.mark.parametrize(
    "value",
    ["a\u0000b", "a\ud800b"],
    ids=["nul", "lone-surrogate"],
)
async def test_nul_and_lone_surrogate_in_variables_are_invalid_data(api, value):
    body = json.dumps(
        {
            "query": 'mutation($d: String) { registerApplication(in: {name: "app", '
            "description: $d}) { id } }",
            "variables": {"d": value},
        }
    )
    response = await _raw(api, body.encode())
    assert response.status_code == 200, response.text
    assert error_code(response.json()["errors"][0]) == 22


async def test_nul_in_a_query_literal_is_invalid_data(api):
    app_id = await _app_id(api)
    error = await api.error(
        'mutation($id: ID!) { setApplicationLabel(applicationID: $id, key: "k", '
        'value: "a\\u0000b") { key } }',
        {"id": app_id},
    )
    assert error_code(error) == 22


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ('{ applications { data { id labels(key: "a\\u0000b") } } }', None),
        ("query($k: String) { applications { data { id labels(key: $k) } } }", {"k": "a\ud800"}),
    ],
    ids=["literal", "variable"],
)
async def test_hostile_argument_of_a_field_read_with_its_page_is_invalid_data(
    api, query, variables
):
    """Page fields answered from what the page read still have their arguments checked."""
    await _app_id(api)
    response = await _raw(api, json.dumps({"query": query, "variables": variables}).encode())
    errors = response.json()["errors"]
    assert [error_code(e) for e in errors] == [22]
    assert errors[0]["path"] == ["applications", "data", 0, "labels"]


@pytest.mark.parametrize("literal", ["1e400", "-1e400", "1" + "0" * 5000 + ".0"])
async def test_non_finite_label_values_are_invalid_data(api, literal):
    app_id = await _app_id(api)
    variables = f'{{"id": "{app_id}", "key": "k", "value": {literal}}}'
    body = f'{{"query": {json.dumps(SET_LABEL)}, "variables": {variables}}}'
    response = await _raw(api, body.encode())
    assert error_code(response.json()["errors"][0]) == 22
    labels = await api.data("query($id: ID!) { application(id: $id) { labels } }", {"id": app_id})
    assert "k" not in labels["application"]["labels"]


async def test_deeply_nested_label_value_is_invalid_data(api):
    app_id = await _app_id(api)
    value: object = 1
    for _ in range(500):
        value = [value]
    error = await api.error(SET_LABEL, {"id": app_id, "key": "k", "value": value})
    assert error_code(error) == 22
    assert "nest" in error["message"]


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [_cursor("2024-01-01T00:00:00|x"), "!!!", _cursor("no-separator"), "\u00e9"],
    ids=["naive-timestamp", "not-base64", "no-separator", "non-ascii"],
)
async def test_malformed_cursors_are_invalid_data_also_in_nested_pages(api, cursor):
    app_id = await _app_id(api)
    await api.data(
        'mutation($id: ID!) { addBundle(applicationID: $id, in: {name: "b"}) { id } }',
        {"id": app_id},
    )
    top = await api.error(
        "query($c: PageCursor) { applications(after: $c) { totalCount } }", {"c": cursor}
    )
    assert error_code(top) == 22
    nested = await api.post(
        "query($id: ID!, $c: PageCursor) { application(id: $id) { "
        "bundles(after: $c) { totalCount } } }",
        {"id": app_id, "c": cursor},
    )
    assert nested["errors"], nested
    assert {error_code(e) for e in nested["errors"]} == {22}


async def test_failing_root_field_beside_nested_loads_keeps_every_error_coded(api):
    app_id = await _app_id(api)
    await api.data(SET_LABEL, {"id": app_id, "key": "k", "value": "v"})
    query = (
        f'{{ application(id: "{app_id}") {{ labels }} '
        'applicationsForRuntime(runtimeID: "x") { totalCount } }'
    )
    for _ in range(20):
        body = await api.post(query)
        for error in body.get("errors", []):
            assert "extensions" in error, body
            assert error_code(error) != 10, body


async def test_long_input_is_cut_in_error_messages(api):
    name = "A" * 100_000
    error = await api.error(
        "mutation($n: String!) { registerApplication(in: {name: $n}) { id } }", {"n": name}
    )
    assert error_code(error) == 22
    assert len(error["message"]) < 1000


async def test_concurrent_first_use_of_a_label_key_is_idempotent(api):
    ids = [
        (await api.data(f'mutation {{ registerApplication(in: {{name: "a{i}"}}) {{ id }} }}'))[
            "registerApplication"
        ]["id"]
        for i in range(20)
    ]
    bodies = await asyncio.gather(
        *(api.post(SET_LABEL, {"id": i, "key": "fresh", "value": "v"}) for i in ids)
    )
    assert [b for b in bodies if b.get("errors")] == []
    definitions = await api.data("{ labelDefinitions { key } }")
    assert [d["key"] for d in definitions["labelDefinitions"]].count("fresh") == 1


async def test_concurrent_writers_never_see_a_locked_database(api):
    ids = [
        (await api.data(f'mutation {{ registerApplication(in: {{name: "w{i}"}}) {{ id }} }}'))[
            "registerApplication"
        ]["id"]
        for i in range(10)
    ]
    writes = [
        api.post(SET_LABEL, {"id": ids[i % 10], "key": f"k{i % 5}", "value": i}) for i in range(40)
    ] + [
        api.post(f'mutation {{ registerApplication(in: {{name: "n{i}"}}) {{ id }} }}')
        for i in range(10)
    ]
    bodies = await asyncio.gather(*writes)
    assert [b for b in bodies if b.get("errors")] == []
