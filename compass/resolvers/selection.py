"""What the query asks of the field being resolved, read off graphql-core's
nodes (fragments followed, directives not evaluated): strawberry's
`selected_fields` converts the whole sub-tree, which costs more than the work
these answers save."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import FieldNode, FragmentSpreadNode, SelectionSetNode

__all__ = ["selected_names", "selects_total_count"]


def _fields(
    selection_set: SelectionSetNode | None, fragments: dict[str, Any]
) -> Iterator[FieldNode]:
    """The fields of a selection set, those of its fragments included."""
    for selection in selection_set.selections if selection_set is not None else ():
        if isinstance(selection, FieldNode):
            yield selection
            continue
        if isinstance(selection, FragmentSpreadNode):
            selection = fragments.get(selection.name.value)
        if selection is not None:
            yield from _fields(selection.selection_set, fragments)


def _selected(info: Any, *path: str) -> Iterator[FieldNode]:
    """The fields selected below `path` (field names) of the field being resolved."""
    raw = info._raw_info
    level = list(raw.field_nodes)
    for name in path:
        level = [f for node in level for f in _fields(node.selection_set, raw.fragments)]
        level = [node for node in level if node.name.value == name]
    return (f for node in level for f in _fields(node.selection_set, raw.fragments))


def selects_total_count(info: Any) -> bool:
    """Whether the query asks for `totalCount`: counting every match is done
    only when it does."""
    return any(node.name.value == "totalCount" for node in _selected(info))


def selected_names(info: Any, *path: str) -> frozenset[str]:
    """The names of the fields asked for below `path`, e.g. ("data",) of a page."""
    return frozenset(node.name.value for node in _selected(info, *path))
