"""Strategies for the schema's custom scalars, and the check every fuzzed
answer must pass: no HTTP 5xx, valid JSON, no InternalError, nothing of the
server's insides (tracebacks, driver or SQL text) in the body."""

from __future__ import annotations

import base64
import json
import string
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import graphql
import httpx
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, nodes, queries

from compass.errors import InternalError

__all__ = ["INTERNAL_MARKERS", "documents", "leaks", "problems"]

# Text that only the server's insides write: a traceback, driver or SQL text.
INTERNAL_MARKERS = (
    "Traceback",
    'File "',
    "sqlalchemy",
    "SELECT ",
    "INSERT INTO",
    "asyncpg",
    "psycopg",
    "sqlite3",
    "aiosqlite",
    "IntegrityError",
    "OperationalError",
    "RecursionError",
)


def _names() -> st.SearchStrategy[str]:
    """GraphQL names (object keys in literals), some of them label keys we use."""
    generated = st.from_regex(r"\A[_A-Za-z][_0-9A-Za-z]{0,12}\Z")
    return st.one_of(st.sampled_from(["scenarios", "env", "region", "size"]), generated)


def _value_nodes() -> st.SearchStrategy[graphql.ValueNode]:
    """Any JSON value as a GraphQL literal."""
    leaves = st.one_of(
        st.just(nodes.Null),
        st.booleans().map(nodes.Boolean),
        st.integers(-(2**70), 2**70).map(nodes.Int),
        st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
        st.text(max_size=40).map(nodes.String),
        st.sampled_from(["DEFAULT", "SHOP", "eu"]).map(nodes.String),
    )

    def nested(children: st.SearchStrategy[graphql.ValueNode]) -> st.SearchStrategy:
        return st.one_of(st.lists(children, max_size=4).map(nodes.List), _object_of(children))

    return st.recursive(leaves, nested, max_leaves=12)


def _object_of(values: st.SearchStrategy[graphql.ValueNode]) -> st.SearchStrategy:
    return st.dictionaries(_names(), values, max_size=4).map(
        lambda items: nodes.Object(
            [
                graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=v)
                for k, v in items.items()
            ]
        )
    )


def _json_text() -> st.SearchStrategy[str]:
    """JSON documents (valid, or not quite) as text."""
    documents = st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=12,
    )
    schemas = st.sampled_from(
        [
            '{"type": "integer"}',
            '{"type": "array", "items": {"type": "string", "enum": ["DEFAULT", "SHOP"]}}',
            '{"type": "string", "pattern": "^(a+)+$"}',
            '{"$ref": "#"}',
            '{"$ref": "http://127.0.0.1:9/x"}',
            '{"type": "object", "properties": {"a": {"$ref": "#/definitions/x"}}}',
            "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths: {}\n",
        ]
    )
    return st.one_of(documents.map(json.dumps), schemas, st.text(max_size=60))


def _timestamps() -> st.SearchStrategy[str]:
    zoned = st.datetimes(timezones=st.just(UTC)).map(lambda moment: moment.isoformat())
    naive = st.datetimes().map(datetime.isoformat)
    return st.one_of(zoned, naive, st.text(max_size=30))


def _cursors(ids: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Opaque text, and base64 of what cursors hold, with and without a zone."""
    inner = st.tuples(_timestamps(), st.sampled_from(ids) | st.text(max_size=10)).map(
        lambda parts: "|".join(parts)
    )
    encoded = st.one_of(inner, st.text(max_size=30)).map(
        lambda text: (
            base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode().rstrip("=")
        )
    )
    return st.one_of(encoded, st.text(max_size=30))


def _ids(ids: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Mostly IDs of existing objects, so mutations reach them; some strangers."""
    stranger = st.one_of(st.uuids().map(str), st.text(string.printable, max_size=40))
    return st.one_of(st.sampled_from(ids), stranger) if ids else stranger


def _strings(texts: st.SearchStrategy[str]) -> st.SearchStrategy[graphql.ValueNode]:
    return texts.map(nodes.String)


def custom_scalars(ids: tuple[str, ...]) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    header_values = st.lists(st.text(max_size=20).map(nodes.String), max_size=3).map(nodes.List)
    return {
        "ID": _strings(_ids(ids)),
        "JSON": _strings(_json_text()),
        "JSONSchema": _strings(_json_text()),
        "CLOB": _strings(_json_text()),
        "HttpHeadersSerialized": _strings(_json_text()),
        "QueryParamsSerialized": _strings(_json_text()),
        "Labels": _object_of(_value_nodes()),
        "Any": _value_nodes(),
        "HttpHeaders": _object_of(header_values),
        "QueryParams": _object_of(header_values),
        "Timestamp": _strings(_timestamps()),
        "PageCursor": _strings(_cursors(ids or ("x",))),
    }


@lru_cache(maxsize=4)
def documents(
    schema_sdl: str, ids: tuple[str, ...], mutation_fields: tuple[str, ...]
) -> st.SearchStrategy[str]:
    """Queries and the mutations named, valid ones mostly, and some with one
    violation of the schema (wrong type, missing argument)."""
    scalars = custom_scalars(ids)
    fields = list(mutation_fields)
    return st.one_of(
        queries(schema_sdl, custom_scalars=scalars),
        mutations(schema_sdl, fields=fields, custom_scalars=scalars),
        queries(schema_sdl, custom_scalars=scalars, mode=Mode.NEGATIVE),
        mutations(schema_sdl, fields=fields, custom_scalars=scalars, mode=Mode.NEGATIVE),
    )


def leaks(text: str, document: str) -> list[str]:
    """Markers of the server's insides in `text` that the document did not bring."""
    lowered = document.lower()
    return [m for m in INTERNAL_MARKERS if m.lower() in text.lower() and m.lower() not in lowered]


def problems(response: httpx.Response, document: str) -> list[str]:
    """What is wrong with one answer to a fuzzed document; empty when nothing is."""
    if response.status_code >= 500:
        return [f"HTTP {response.status_code}: {response.text[:2000]}"]
    found = [f"leaks {marker!r}" for marker in leaks(response.text, document)]
    try:
        body: Any = json.loads(response.text)
    except ValueError:
        return [*found, f"not JSON: {response.text[:2000]}"]
    if not isinstance(body, dict):
        return [*found, f"not a GraphQL answer: {response.text[:2000]}"]
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("error_code")
        if code == InternalError.code:
            found.append(f"InternalError: {error}")
        if not error.get("message"):
            found.append(f"error without a message: {error}")
    return found
