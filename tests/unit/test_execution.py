"""The short road for plain scalar fields and plain reads answers exactly as
graphql-core's executor does: the same data in the same key order, the same
errors with the same paths, and the middleware still around every field that
has a resolver or arguments, but for plain reads answered at once."""

from __future__ import annotations

import asyncio
import enum
import inspect
from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from compass.resolvers.execution import PLAIN_READ, CompassExecutionContext


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Version:
    value: str
    deprecated: bool | None = None


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Badge(Named):
    level: int


@strawberry.type
class Impostor:
    name: str
    level: int


# Ids of the items whose plain reads answer later (an awaitable) or fail.
LATER: set[str] = set()
FAILING: set[str] = set()
AWAITABLES: list[Any] = []


async def _later(value: Any) -> Any:
    await asyncio.sleep(0)
    return value


def _answer(item: Item, value: Any) -> Any:
    if item.id in FAILING:
        raise ValueError(f"no answer for {item.id}")
    if item.id not in LATER:
        return value
    AWAITABLES.append(_later(value))
    return AWAITABLES[-1]


@strawberry.type
class Item:
    id: strawberry.ID
    name: str
    note: str | None
    colour: Colour
    count: int
    version: Version | None
    required_version: Version
    tags: list[str]
    parts: list[Version]
    maybe_parts: list[Version | None] | None

    @strawberry.field
    def shout(self, suffix: str = "!") -> str:
        return self.name.upper() + suffix

    @strawberry.field
    async def later(self) -> str:
        await asyncio.sleep(0)
        return f"later {self.id}"

    @strawberry.field(metadata=PLAIN_READ)
    def tag(self, info: strawberry.Info, prefix: str = "#", upper: bool = False) -> str:
        text = f"{prefix}{self.name}{info.context['mark']}"
        return _answer(self, text.upper() if upper else text)

    @strawberry.field(metadata=PLAIN_READ)
    def badge(self, info: strawberry.Info) -> Badge | None:
        if self.id == "5":
            return _answer(self, Impostor(name="not a badge", level=0))
        return _answer(self, Badge(name=f"badge {self.id}", level=self.count))


def _item(number: int, **changes: Any) -> Item:
    fields: dict[str, Any] = {
        "id": strawberry.ID(str(number)),
        "name": f"item {number}",
        "note": None if number % 2 else f"note {number}",
        "colour": Colour.RED if number % 2 else Colour.BLUE,
        "count": number,
        "version": Version(value=f"v{number}") if number % 3 else None,
        "required_version": Version(value="v1", deprecated=False),
        "tags": [f"t{n}" for n in range(number % 3)],
        "parts": [Version(value=f"p{n}") for n in range(number % 4)],
        "maybe_parts": None if number % 2 else [None, Version(value="m")],
    }
    fields.update(changes)
    return Item(**fields)


ITEMS: list[Item] = []


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return ITEMS


class FieldsSeen(SchemaExtension):
    """Records every field the middleware saw."""

    seen: list[str] = []

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        FieldsSeen.seen.append(f"{info.parent_type.name}.{info.field_name}")
        return _next(root, info, *args, **kwargs)


def _run(
    query: str, items: list[Item], ours: bool, variables: dict[str, Any] | None = None
) -> tuple[Any, Any]:
    ITEMS[:] = items
    schema = strawberry.Schema(
        query=Query,
        types=[Badge],
        extensions=[FieldsSeen],
        execution_context_class=CompassExecutionContext if ours else None,
    )
    result = asyncio.run(
        schema.execute(query, variable_values=variables, context_value={"mark": "*"})
    )
    errors = [(e.message, e.path) for e in result.errors or []]
    return result.data, errors


QUERIES = {
    "scalars": "{ items { id name note colour count } }",
    "aliases and order": "{ items { b: name a: id name count c: colour } }",
    "nested objects": "{ items { id version { value deprecated } requiredVersion { value } } }",
    "lists": "{ items { id tags parts { value } maybeParts { value deprecated } } }",
    "mixed with resolvers": '{ items { id shout(suffix: "?") later name } }',
    "fragments and typename": (
        "{ items { ...Parts ... on Item { count } __typename } }"
        " fragment Parts on Item { id name version { value __typename } }"
    ),
    "skip and include": (
        "query { items { id name @skip(if: true) note @include(if: false) count } }"
    ),
}


@pytest.mark.parametrize("query", QUERIES.values(), ids=QUERIES.keys())
def test_answers_as_graphql_core_does(query):
    items = [_item(number) for number in range(7)]
    ours = _run(query, items, ours=True)
    theirs = _run(query, items, ours=False)
    assert ours == theirs
    assert list(ours[0]["items"][0]) == list(theirs[0]["items"][0])  # key order


@pytest.mark.parametrize(
    "broken",
    [
        {"name": None},  # null in a non-null field
        {"count": "not a number"},  # a value the scalar refuses
        {"colour": "green"},  # not a member of the enum
        {"required_version": Version(value=None)},  # null inside a nested object
        {"tags": ["a", None]},  # null item in a list of non-null items
        {"parts": [Version(value="a"), Version(value=None)]},  # null inside a listed object
    ],
    ids=["null", "bad scalar", "bad enum", "nested null", "null item", "null in an item"],
)
def test_errors_keep_their_message_and_path(broken):
    query = "{ items { id name count colour requiredVersion { value } tags parts { value } } }"
    items = [_item(0), _item(1, **broken), _item(2)]
    ours = _run(query, items, ours=True)
    assert ours == _run(query, items, ours=False)
    assert ours[1] and ours[1][0][1][:2] == ["items", 1]


def test_the_middleware_still_sees_fields_with_resolvers_and_root_fields():
    FieldsSeen.seen = []
    _run('{ items { id name shout(suffix: "?") later version { value } } }', [_item(1)], True)
    assert set(FieldsSeen.seen) == {"Query.items", "Item.shout", "Item.later"}


PLAIN_READS = '{ items { id tag loud: tag(prefix: "!", upper: true) badge { name level } name } }'


@pytest.fixture
def answers_at_once():
    for chosen in (LATER, FAILING, AWAITABLES):
        chosen.clear()
    yield
    for chosen in (LATER, FAILING, AWAITABLES):
        chosen.clear()


@pytest.mark.usefixtures("answers_at_once")
@pytest.mark.parametrize(
    ("later", "failing"),
    [((), ()), (("1", "3"), ()), ((), ("2",)), (("4",), ("1",))],
    ids=["at once", "some later", "one failing", "failing before a later one"],
)
def test_plain_reads_answer_as_graphql_core_does(later, failing):
    LATER.update(later)
    FAILING.update(failing)
    items = [_item(number) for number in range(5)]
    ours = _run(PLAIN_READS, items, ours=True)
    assert ours == _run(PLAIN_READS, items, ours=False)
    assert {tuple(error[1][:2]) for error in ours[1]} == {("items", int(i)) for i in failing}
    # An awaitable the short road does not take is closed, not left unawaited.
    assert all(inspect.getcoroutinestate(c) == inspect.CORO_CLOSED for c in AWAITABLES)
    if later and not failing:
        assert AWAITABLES
    if not failing:  # else the non-null items make the whole answer null
        assert list(ours[0]["items"][0]) == ["id", "tag", "loud", "badge", "name"]
        assert ours[0]["items"][1]["loud"] == "!ITEM 1*"


@pytest.mark.usefixtures("answers_at_once")
def test_plain_read_arguments_from_variables():
    query = "query($p: String!, $u: Boolean) { items { tag(prefix: $p, upper: $u) } }"
    items = [_item(number) for number in range(3)]
    variables = {"p": "~", "u": True}
    ours = _run(query, items, ours=True, variables=variables)
    assert ours == _run(query, items, ours=False, variables=variables)
    assert ours[0]["items"][1] == {"tag": "~ITEM 1*"}


@pytest.mark.usefixtures("answers_at_once")
def test_a_plain_read_of_the_wrong_type_is_refused_as_graphql_core_does():
    items = [_item(number) for number in range(4, 7)]
    ours = _run("{ items { id badge { name } } }", items, ours=True)
    assert ours == _run("{ items { id badge { name } } }", items, ours=False)
    assert ours[1] and ours[1][0][1] == ["items", 1, "badge"]
    assert "Impostor" in ours[1][0][0]


@pytest.mark.usefixtures("answers_at_once")
def test_plain_reads_skip_the_middleware_only_when_answered_at_once():
    FieldsSeen.seen = []
    _run(PLAIN_READS, [_item(1), _item(2)], True)
    assert set(FieldsSeen.seen) == {"Query.items"}
    LATER.add("2")
    FieldsSeen.seen = []
    _run(PLAIN_READS, [_item(1), _item(2)], True)
    assert set(FieldsSeen.seen) == {"Query.items", "Item.tag", "Item.badge"}
