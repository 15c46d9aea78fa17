"""Checks at the edge that hold for every argument of every field: strings
without NUL or lone surrogates, finite numbers, JSON values nested within the
limit. One walk over the coerced arguments, so literals and variables alike."""

from __future__ import annotations

import math
from enum import Enum
from typing import Any

from compass.domain.limits import check_text
from compass.errors import InvalidData

__all__ = ["check_arguments"]


def _children(item: Any) -> tuple[list[Any], bool] | None:
    """The values inside `item` and whether it is a JSON container (counted for depth)."""
    if isinstance(item, dict):
        return list(item.values()), True
    if isinstance(item, (list, tuple)):
        return list(item), True
    if hasattr(item, "__dataclass_fields__"):  # a strawberry input object
        return [getattr(item, name, None) for name in item.__dataclass_fields__], False
    return None


def check_arguments(field: str, arguments: dict[str, Any], max_depth: int) -> None:
    pending: list[tuple[Any, int]] = [(value, 0) for value in arguments.values()]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            check_text(f"an argument of {field}", item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise InvalidData(f"an argument of {field} holds a number that is not finite")
        elif item is None or isinstance(item, (bool, int, Enum)):
            continue
        elif (found := _children(item)) is not None:
            children, counted = found
            depth += counted
            if depth > max_depth:
                raise InvalidData(
                    f"an argument of {field} is nested deeper than the limit of "
                    f"{max_depth} levels (max_json_depth)"
                )
            pending.extend((child, depth) for child in children)
