"""How documents run: graphql-core's executor, with a shorter road for plain
scalar fields.

Most of a large answer (the agent's configuration is tens of thousands of
fields) is scalars read off an attribute: an id, a name, a spec's text. The
general road builds a resolve info, runs the middleware and completes the
value for each of them. A field with no resolver, no extension and no
arguments ("basic" to strawberry) gives the middleware nothing to check, so
such fields skip it; basic fields of scalar or enum type are read and
serialized in one loop per object. Anything unusual on that loop (a null in a
non-null field, a value the scalar refuses, an attribute that fails) sends the
whole object down the general road, which reports it as it always does.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, NamedTuple

from graphql import (
    GraphQLEnumType,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLString,
    Undefined,
)
from graphql.execution.middleware import MiddlewareManager
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

__all__ = ["CompassExecutionContext"]

_DEFINITION = GraphQLCoreConverter.DEFINITION_BACKREF


class _Reader(NamedTuple):
    """How one value of a named type or a list of them is read: a scalar or
    enum is serialized, an object is read by its own plan (`inner`), a list
    reads each item."""

    non_null: bool
    serialize: Any = None
    inner: _Plan | None = None
    item: _Reader | None = None
    # String and ID give a str back unchanged: no call needed for one.
    text: bool = False


class _Leaf(NamedTuple):
    """A basic field read directly."""

    response_name: str
    attribute: str
    reader: _Reader


class _Plan(NamedTuple):
    """One selection of one object type: the scalar fields read directly, the
    rest as graphql-core would run them, and the order of the answer's keys."""

    leaves: tuple[_Leaf, ...]
    others: dict[str, Any]
    order: tuple[str, ...]


def _is_basic(field_def: Any) -> bool:
    return bool(getattr(field_def.resolve, "_is_default", False))


def _attribute_of(field_def: Any) -> str | None:
    """The attribute a basic field returns; None for any other field."""
    if field_def is None or not _is_basic(field_def):
        return None
    definition = (field_def.extensions or {}).get(_DEFINITION)
    return None if definition is None else definition.python_name


class _BasicFieldsBypass:
    """The request's middleware, except around basic fields: they return an
    attribute, take no arguments and are never root fields, so the guards
    have nothing to do there."""

    def __init__(self, inner: MiddlewareManager) -> None:
        self.inner = inner

    def get_field_resolver(self, field_resolver: Any) -> Any:
        if getattr(field_resolver, "_is_default", False):
            return field_resolver
        return self.inner.get_field_resolver(field_resolver)


class CompassExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.middleware_manager is not None:
            self.middleware_manager = _BasicFieldsBypass(self.middleware_manager)  # type: ignore[assignment]
        # By the id of a grouped field set, kept with it (so the id stays its own).
        self._plans: dict[int, tuple[Any, _Plan | None]] = {}
        roots = (self.schema.query_type, self.schema.mutation_type, self.schema.subscription_type)
        self._roots = {root for root in roots if root is not None}

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Any,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        plan = self._plan(parent_type, grouped_field_set)
        leaves = _read_leaves(plan, source_value) if plan is not None else None
        if leaves is None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        assert plan is not None
        if not plan.others:
            return leaves
        rest = super().execute_fields(
            parent_type, source_value, path, plan.others, position_context
        )
        if self.is_awaitable(rest):
            return _merged_later(plan.order, leaves, rest)
        return _merged(plan.order, leaves, rest)

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> _Plan | None:
        # graphql-core memoizes the field set of each sub-selection, so the items
        # of a list share one, and the plan is made once per request and selection.
        known = self._plans.get(id(grouped_field_set))
        if known is not None and known[0] is grouped_field_set:
            return known[1]
        plan = self._make_plan(parent_type, grouped_field_set)
        self._plans[id(grouped_field_set)] = (grouped_field_set, plan)
        return plan

    def _make_plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> _Plan | None:
        if parent_type in self._roots:
            return None
        leaves, others = [], {}
        for response_name, field_details_list in grouped_field_set.items():
            leaf = self._leaf_of(parent_type, response_name, field_details_list)
            if leaf is None:
                others[response_name] = field_details_list
            else:
                leaves.append(leaf)
        if not leaves:
            return None
        return _Plan(tuple(leaves), others, tuple(grouped_field_set))

    def _leaf_of(
        self, parent_type: GraphQLObjectType, response_name: str, field_details_list: Any
    ) -> _Leaf | None:
        field_def = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
        attribute = _attribute_of(field_def)
        if attribute is None:
            return None
        reader = self._reader_of(field_def.type, field_details_list)
        return None if reader is None else _Leaf(response_name, attribute, reader)

    def _reader_of(self, field_type: Any, field_details_list: Any) -> _Reader | None:
        non_null = isinstance(field_type, GraphQLNonNull)
        if non_null:
            field_type = field_type.of_type
        if isinstance(field_type, (GraphQLScalarType, GraphQLEnumType)):
            text = field_type in (GraphQLString, GraphQLID)
            return _Reader(non_null, serialize=field_type.coerce_output_value, text=text)
        if isinstance(field_type, GraphQLList):
            item = self._reader_of(field_type.of_type, field_details_list)
            return None if item is None or item.item is not None else _Reader(non_null, item=item)
        if not isinstance(field_type, GraphQLObjectType) or field_type.is_type_of is not None:
            return None
        grouped, deferred, _forbidden = self.collect_subfields(field_type, field_details_list)
        inner = None if deferred else self._plan(field_type, grouped)
        if inner is None or inner.others:
            return None
        return _Reader(non_null, inner=inner)


_UNREADABLE = object()


def _read_leaves(plan: _Plan, source: Any) -> dict[str, Any] | None:
    """The plan's basic fields of `source`, or None when one of them needs
    the general road (to raise or report exactly as it does)."""
    values: dict[str, Any] = {}
    try:
        for name, attribute, reader in plan.leaves:
            value = getattr(source, attribute)
            if not (reader.text and type(value) is str):  # most leaves: text as it is
                value = _read(reader, value)
                if value is _UNREADABLE:
                    return None
            values[name] = value
    except Exception:  # noqa: BLE001 - the general road reports it with its path
        return None
    return values


def _read(reader: _Reader, value: Any) -> Any:
    if reader.text and type(value) is str:
        return value
    if value is None:
        return _UNREADABLE if reader.non_null else None
    if isinstance(value, Exception):
        return _UNREADABLE
    if reader.serialize is not None:
        coerced = reader.serialize(value)
        return _UNREADABLE if coerced is None or coerced is Undefined else coerced
    if reader.inner is not None:
        found = _read_leaves(reader.inner, value)
        return _UNREADABLE if found is None else found
    if not isinstance(value, (list, tuple)):
        return _UNREADABLE  # other iterables: as graphql-core takes them
    items = [_read(reader.item, item) for item in value]
    return _UNREADABLE if any(item is _UNREADABLE for item in items) else items


def _merged(order: tuple[str, ...], leaves: dict[str, Any], rest: dict[str, Any]) -> dict:
    """Both halves in the order the query asked for them (a field that does
    not exist on the type is in neither)."""
    return {
        name: leaves[name] if name in leaves else rest[name]
        for name in order
        if name in leaves or name in rest
    }


async def _merged_later(
    order: tuple[str, ...], leaves: dict[str, Any], rest: Awaitable[dict[str, Any]]
) -> dict:
    return _merged(order, leaves, await rest)
