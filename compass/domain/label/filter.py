"""Label filters: the subset of SQL/JSON path queries Compass clients send.

{key}                              the object has the label
{key, query: "\"v\""}              the label value equals "v"
{key, query: "$[*] ? (@ == \"v\")"} the label value is an array containing "v"
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

_CONTAINS = re.compile(r'^\$\[\*\]\s*\?\s*\(\s*@\s*==\s*("(?:[^"\\]|\\.)*")\s*\)$')


@dataclass(frozen=True)
class LabelCondition:
    key: str
    equals: Any = None
    contains: Any = None
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
        return LabelCondition(key, contains=_string_literal(match.group(1), query), mode="contains")
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        return LabelCondition(key, equals=_string_literal(text, query), mode="equals")
    raise InvalidData(
        f"label filter query {query!r} is not supported: use no query, "
        '"\\"value\\"" or "$[*] ? (@ == \\"value\\")"'
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
