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

Fields marked `PLAIN_READ` join that loop too: resolvers that answer at once
from what the request read already (a page's labels, a bundle's definitions)
and otherwise hand back an awaitable. Their arguments must be scalars; they are
coerced and checked as the guard checks them once per selection, and the
resolver gets an `info` with `context` only. An awaitable, an error or an
argument the check refuses sends the object down the general road, which runs
the resolver again: a plain read must be a read that can run twice.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from functools import partial
from types import MappingProxyType
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
from graphql.execution.values import get_argument_values
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

from compass.resolvers.limits import check_arguments

__all__ = ["PLAIN_READ", "CompassExecutionContext"]

_DEFINITION = GraphQLCoreConverter.DEFINITION_BACKREF
_PLAIN_READ_KEY = "compass.plain_read"
# `strawberry.field(metadata=PLAIN_READ)`: see the module's docstring.
PLAIN_READ = MappingProxyType({_PLAIN_READ_KEY: True})


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
    # For an object type that implements interfaces: whether a value is one.
    is_type_of: Any = None


class _Leaf(NamedTuple):
    """A basic field read directly, or a plain read called directly (`call`)."""

    response_name: str
    attribute: str  # for a plain read, the name of its resolver
    reader: _Reader
    call: Callable[[Any], Any] | None = None


class _ContextOnly:
    """The `info` a plain read gets."""

    __slots__ = ("context",)

    def __init__(self, context: Any) -> None:
        self.context = context


class _Plan(NamedTuple):
    """One selection of one object type: the scalar fields read directly, the
    rest as graphql-core would run them, and the order of the answer's keys."""

    leaves: tuple[_Leaf, ...]
    others: dict[str, Any]
    order: tuple[str, ...]


def _is_basic(field_def: Any) -> bool:
    return bool(getattr(field_def.resolve, "_is_default", False))


def _definition_of(element: Any) -> Any:
    """Strawberry's definition behind a graphql-core field or type, if any."""
    return None if element is None else (element.extensions or {}).get(_DEFINITION)


def _attribute_of(field_def: Any) -> str | None:
    """The attribute a basic field returns; None for any other field."""
    if field_def is None or not _is_basic(field_def):
        return None
    definition = _definition_of(field_def)
    return None if definition is None else definition.python_name


def _plain_resolver(field_def: Any) -> Any:
    """The resolver of a field marked PLAIN_READ that can be called directly: a
    method taking `info`, not async, with no field extensions and scalar
    arguments only; None for any other field."""
    definition = _definition_of(field_def)
    if definition is None or not definition.metadata.get(_PLAIN_READ_KEY):
        return None
    resolver = definition.base_resolver
    if resolver is None or definition.extensions or resolver.is_async:
        return None
    if resolver.self_parameter is None or resolver.info_parameter is None:
        return None
    if not all(_is_scalar(argument.type) for argument in field_def.args.values()):
        return None
    return resolver


def _is_scalar(argument_type: Any) -> bool:
    if isinstance(argument_type, GraphQLNonNull):
        argument_type = argument_type.of_type
    return isinstance(argument_type, GraphQLScalarType)


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
        resolver = _plain_resolver(field_def) if attribute is None else None
        if attribute is None and resolver is None:
            return None
        reader = self._reader_of(field_def.type, field_details_list)
        if reader is None:
            return None
        if resolver is None:
            return _Leaf(response_name, attribute, reader)
        call = self._plain_call(resolver, field_def, field_details_list)
        return None if call is None else _Leaf(response_name, resolver.name, reader, call)

    def _plain_call(self, resolver: Any, field_def: Any, field_details_list: Any) -> Any:
        """The call of a plain read with this selection's arguments, coerced
        and checked as the general road does it; None when that refuses them
        (the general road then reports it where it belongs)."""
        node = field_details_list[0].node
        try:
            given = get_argument_values(field_def, node, self.variable_values)
            if given:
                # No nesting allowed here: a JSON value (a scalar too) takes the
                # general road, where the guard counts it against the real limit.
                check_arguments(node.name.value, given, max_depth=0)
        except Exception:  # noqa: BLE001 - reported by the general road
            return None
        names = {
            name: arg.extensions[_DEFINITION].python_name for name, arg in field_def.args.items()
        }
        arguments = {names[name]: value for name, value in given.items()}
        arguments[resolver.info_parameter.name] = _ContextOnly(self.context_value)
        return partial(resolver.wrapped_func, **arguments)

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
        if not isinstance(field_type, GraphQLObjectType) or _own_is_type_of(field_type):
            return None
        grouped, deferred, _forbidden = self.collect_subfields(field_type, field_details_list)
        inner = None if deferred else self._plan(field_type, grouped)
        if inner is None or inner.others:
            return None
        return _Reader(non_null, inner=inner, is_type_of=field_type.is_type_of)


def _own_is_type_of(object_type: GraphQLObjectType) -> bool:
    """Whether the type's `is_type_of` is its own: strawberry's, made for the
    types that implement interfaces, is an isinstance check that needs no
    resolve info."""
    definition = _definition_of(object_type)
    return definition is None or definition.is_type_of is not None


_UNREADABLE = object()


def _read_leaves(plan: _Plan, source: Any) -> dict[str, Any] | None:
    """The plan's basic fields of `source`, or None when one of them needs
    the general road (to raise or report exactly as it does)."""
    values: dict[str, Any] = {}
    try:
        for name, attribute, reader, call in plan.leaves:
            if call is None:
                value = getattr(source, attribute)
            else:
                value = call(source)
                if inspect.isawaitable(value):
                    _drop(value)
                    return None
            if not (reader.text and type(value) is str):  # most leaves: text as it is
                value = _read(reader, value)
                if value is _UNREADABLE:
                    return None
            values[name] = value
    except Exception:  # noqa: BLE001 - the general road reports it with its path
        return None
    return values


def _drop(awaitable: Any) -> None:
    """A plain read's awaitable not taken: the general road asks again."""
    if inspect.iscoroutine(awaitable):
        awaitable.close()


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
        if reader.is_type_of is not None and not reader.is_type_of(value, None):
            return _UNREADABLE  # the general road says what it is not
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
