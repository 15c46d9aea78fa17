"""Size and shape limits of input values (DESIGN §6, "Limits").

The app puts its `Limits` into every session's `info`, so services read them
from the session they already hold; without one the defaults apply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from compass.errors import InvalidData

__all__ = [
    "LIMITS_KEY",
    "Limits",
    "check_json_value",
    "check_text",
    "json_depth",
    "limits_of",
]

LIMITS_KEY = "compass.limits"


@dataclass(frozen=True)
class Limits:
    label_value_bytes: int = 64 * 1024
    spec_bytes: int = 1024 * 1024
    json_depth: int = 64

    @classmethod
    def of(cls, settings: Any) -> Limits:
        return cls(
            label_value_bytes=settings.max_label_value_bytes,
            spec_bytes=settings.max_spec_bytes,
            json_depth=settings.max_json_depth,
        )


def limits_of(session: AsyncSession) -> Limits:
    return session.info.get(LIMITS_KEY) or Limits()


def json_depth(value: Any, stop: int) -> int:
    """Nesting depth of a JSON-like value, counted without recursion; stops
    counting once past `stop`."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if not isinstance(item, (dict, list, tuple)):
            continue
        deepest = max(deepest, depth)
        if deepest > stop:
            return deepest
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children)
    return deepest


def check_json_value(field: str, value: Any, max_depth: int) -> None:
    """Finite numbers only, and nesting within `max_depth`."""
    if json_depth(value, max_depth) > max_depth:
        raise InvalidData(f"{field} is nested deeper than the limit of {max_depth} levels")
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise InvalidData(f"{field} holds a number that is not finite")
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)


def check_text(field: str, text: str) -> None:
    """No NUL character and no lone surrogate: neither can be stored or encoded."""
    if "\x00" in text:
        raise InvalidData(f"{field} holds a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidData(f"{field} holds a lone surrogate character") from error
