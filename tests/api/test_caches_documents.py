"""Parsed and validated documents are reused from one request to the next; the
limits and the schema's own checks refuse a document every time it comes."""

from __future__ import annotations

import pytest

from tests.api.trust import register_application
from tests.conftest import error_code

DEEP = "{ applications { data { " + "bundles { data { " * 10 + "id" + " } }" * 10 + " } } }"
ALIASES = "{ " + " ".join(f"a{i}: applications {{ totalCount }}" for i in range(300)) + " }"
TOKENS = "{ applications { " + "totalCount " * 20_000 + "} }"
UNKNOWN_FIELD = "{ applications { data { nonsense } } }"
SYNTAX = "{ applications { data { id }"
APPLICATION = "query($id: ID!) { application(id: $id) { id name } }"


@pytest.mark.parametrize(
    ("query", "words"),
    [
        (DEEP, ["depth", "max_query_depth"]),
        (ALIASES, ["aliases", "max_query_aliases"]),
        (TOKENS, ["tokens", "max_query_tokens"]),
    ],
    ids=["depth", "aliases", "tokens"],
)
async def test_a_document_over_a_limit_is_refused_every_time(api, query, words):
    for _ in range(3):
        errors = (await api.post(query))["errors"]
        assert all(error_code(error) == 22 for error in errors), errors
        assert any(all(word in e["message"] for word in words) for e in errors), errors


@pytest.mark.parametrize("query", [UNKNOWN_FIELD, SYNTAX], ids=["invalid", "syntax"])
async def test_an_invalid_document_is_refused_every_time(api, query):
    messages = set()
    for _ in range(3):
        body = await api.post(query)
        assert body.get("data") is None and len(body["errors"]) == 1, body
        messages.add(body["errors"][0]["message"])
    assert len(messages) == 1


async def test_one_document_with_other_variables_answers_for_them(api):
    first = await register_application(api, "first")
    second = await register_application(api, "second")
    for app_id, name in [(first, "first"), (second, "second"), (first, "first")]:
        answer = await api.data(APPLICATION, {"id": app_id})
        assert answer == {"application": {"id": app_id, "name": name}}


async def test_a_cached_document_is_still_authorized_per_caller(api):
    app_id = await register_application(api, "shop")
    assert (await api.data(APPLICATION, {"id": app_id}))["application"]["id"] == app_id
    reader = api.mint(scopes=["runtime:read"])
    error = await api.error(APPLICATION, {"id": app_id}, token=reader)
    assert error_code(error) == 23, error
