"""Label filters: the subset of SQL/JSON path queries Compass clients send.

{key}                              the object has the label
{key, query: "\"v\""}              the label value equals "v"
{key, query: "$[*] ? (@ == \"v\")"} the label value is an array containing "v"
{key, query: "$[*] ? (@ == \"a\" || @ == \"b\")"}  ... containing "a" or "b"
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from compass.db import dump_json
from compass.errors import InvalidData

__all__ = ["LabelCondition", "parse_label_filter", "json_array_contains"]

_LITERAL = r'"(?:[^"\\]|\\.)*"'
_ELEMENT = re.compile(rf"\s*@\s*==\s*({_LITERAL})\s*")
_CONTAINS = re.compile(rf"^\$\[\*\]\s*\?\s*\(((?:{_ELEMENT.pattern}\|\|)*{_ELEMENT.pattern})\)$")


@dataclass(frozen=True)
class LabelCondition:
    key: str
    equals: Any = None
    contains: tuple[Any, ...] = ()  # any of these values
    mode: str = "has"  # has | equals | contains


def _string_literal(text: str, query: str) -> str:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidData(f"label filter query {query!r} is not supported") from error
    if not isinstance(value, str):
        raise InvalidData(f"label filter query {query!r} is not supported")
    return value


def parse_label_filter(key: str, query: str | None) -> LabelCondition:
    if query is None:
        return LabelCondition(key)
    text = query.strip()
    if match := _CONTAINS.match(text):
        values = [_string_literal(m.group(1), query) for m in _ELEMENT.finditer(match.group(1))]
        return LabelCondition(key, contains=tuple(dict.fromkeys(values)), mode="contains")
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        return LabelCondition(key, equals=_string_literal(text, query), mode="equals")
    raise InvalidData(
        f"label filter query {query!r} is not supported: use no query, "
        '"\\"value\\"", "$[*] ? (@ == \\"value\\")" or '
        '"$[*] ? (@ == \\"a\\" || @ == \\"b\\")"'
    )


def json_array_contains(dialect: str, column: Any, value: Any) -> sa.ColumnElement[bool]:
    """`column` holds JSON text of an array; true when it has `value` as an element."""
    text_column = sa.type_coerce(column, sa.Text())
    if dialect == "postgresql":
        return sa.cast(text_column, postgresql.JSONB).op("@>")(
            sa.cast(sa.literal(dump_json([value]), sa.Text()), postgresql.JSONB)
        )
    elements = sa.func.json_each(text_column).table_valued("value", "type")
    has_element = (
        sa.select(sa.literal(1))
        .select_from(elements)
        .where(elements.c.type == "text", elements.c.value == value)
        .exists()
    )
    return sa.and_(sa.func.json_type(text_column) == "array", has_element)
