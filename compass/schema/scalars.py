"""Scalars as Compass clients use them.

`JSON`, `JSONSchema` and `CLOB` carry JSON or document text as strings (they are
parsed, and rejected with InvalidData, where the input is converted);
`Labels`, `Any`, `HttpHeaders` and `QueryParams` are JSON values; `Timestamp`
is RFC 3339; `PageCursor` is an opaque string.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any as AnyValue
from typing import NewType

import strawberry

from compass.errors import InvalidData

__all__ = [
    "JSON",
    "JSONSchema",
    "CLOB",
    "Labels",
    "Any",
    "Timestamp",
    "PageCursor",
    "HttpHeaders",
    "HttpHeadersSerialized",
    "QueryParams",
    "QueryParamsSerialized",
    "SCALAR_MAP",
    "parse_json_text",
]

JSON = NewType("JSON", str)
JSONSchema = NewType("JSONSchema", str)
CLOB = NewType("CLOB", str)
Labels = NewType("Labels", dict)
Any = NewType("Any", object)
Timestamp = NewType("Timestamp", datetime)
PageCursor = NewType("PageCursor", str)
HttpHeaders = NewType("HttpHeaders", dict)
HttpHeadersSerialized = NewType("HttpHeadersSerialized", str)
QueryParams = NewType("QueryParams", dict)
QueryParamsSerialized = NewType("QueryParamsSerialized", str)


def parse_json_text(field: str, text: str | None) -> AnyValue:
    """Parses a JSON-as-string input value; InvalidData when it is not JSON."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise InvalidData(f"{field} must be a string holding JSON")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidData(f"{field} is not valid JSON: {error.msg}") from error


def _text(value: AnyValue) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _serialize_timestamp(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_timestamp(value: AnyValue) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _identity(value: AnyValue) -> AnyValue:
    return value


def _string(value: AnyValue) -> AnyValue:
    # Non-strings are passed on so input conversion can reject them with InvalidData.
    return value


SCALAR_MAP = {
    JSON: strawberry.scalar(
        name="JSON", description="JSON text in a string.", serialize=_text, parse_value=_string
    ),
    JSONSchema: strawberry.scalar(
        name="JSONSchema",
        description="A JSON Schema document as JSON text in a string.",
        serialize=_text,
        parse_value=_string,
    ),
    CLOB: strawberry.scalar(
        name="CLOB",
        description="Large text, such as a specification.",
        serialize=_text,
        parse_value=_string,
    ),
    Labels: strawberry.scalar(
        name="Labels",
        description="An object mapping label keys to JSON values.",
        serialize=_identity,
        parse_value=_identity,
    ),
    Any: strawberry.scalar(
        name="Any", description="Any JSON value.", serialize=_identity, parse_value=_identity
    ),
    Timestamp: strawberry.scalar(
        name="Timestamp",
        description="An RFC 3339 date and time.",
        serialize=_serialize_timestamp,
        parse_value=_parse_timestamp,
    ),
    PageCursor: strawberry.scalar(
        name="PageCursor",
        description="An opaque position in a paged list.",
        serialize=str,
        parse_value=_string,
    ),
    HttpHeaders: strawberry.scalar(
        name="HttpHeaders",
        description="HTTP headers: an object of name to list of values.",
        serialize=_identity,
        parse_value=_identity,
    ),
    HttpHeadersSerialized: strawberry.scalar(
        name="HttpHeadersSerialized",
        description="HTTP headers as JSON text in a string.",
        serialize=_text,
        parse_value=_string,
    ),
    QueryParams: strawberry.scalar(
        name="QueryParams",
        description="Query parameters: an object of name to list of values.",
        serialize=_identity,
        parse_value=_identity,
    ),
    QueryParamsSerialized: strawberry.scalar(
        name="QueryParamsSerialized",
        description="Query parameters as JSON text in a string.",
        serialize=_text,
        parse_value=_string,
    ),
}
