"""Checks at the edge that hold for every argument of every field: strings
without NUL or lone surrogates, finite numbers, JSON values nested within the
limit. One walk over the coerced arguments, so literals and variables alike.
It also reports each running resolver to the context, whose session must
outlive them all."""

from __future__ import annotations

import inspect
import math
from enum import Enum
from typing import Any

from strawberry.extensions import SchemaExtension

from compass.domain.limits import check_text
from compass.errors import InvalidData

__all__ = ["InputGuard"]


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


class InputGuard(SchemaExtension):
    def __init__(self, *, max_json_depth: int) -> None:
        self.max_json_depth = max_json_depth

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            check_arguments(info.field_name, kwargs, self.max_json_depth)
        result = _next(root, info, *args, **kwargs)
        if inspect.isawaitable(result) and hasattr(info.context, "track"):
            return info.context.track(result)
        return result
