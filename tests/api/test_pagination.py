"""Paged lists: page sizes, opaque cursors, and walking a list page by page."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.conftest import error_code

APPS = """query($first: Int, $after: PageCursor, $filter: [LabelFilter!]) {
  applications(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { startCursor endCursor hasNextPage } data { id name }
  }
}"""
RUNTIMES = """query($first: Int, $after: PageCursor, $filter: [LabelFilter!]) {
  runtimes(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { startCursor endCursor hasNextPage } data { id name }
  }
}"""
FIELDS = {"applications": APPS, "runtimes": RUNTIMES}
REGISTER = {"applications": "registerApplication", "runtimes": "registerRuntime"}


async def create_many(api: Any, field: str, count: int, prefix: str = "item") -> list[str]:
    """Registers `count` objects in one request (mutations run in order); their ids."""
    mutation = REGISTER[field]
    body = " ".join(
        f'm{i}: {mutation}(in: {{name: "{prefix}-{i:03d}"}}) {{ id }}' for i in range(count)
    )
    data = await api.data(f"mutation {{ {body} }}")
    return [data[f"m{i}"]["id"] for i in range(count)]


async def page(api: Any, field: str, **variables: Any) -> dict[str, Any]:
    return (await api.data(FIELDS[field], variables))[field]


async def page_error(api: Any, field: str, **variables: Any) -> dict[str, Any]:
    return await api.error(FIELDS[field], variables)


def ids(result: dict[str, Any]) -> list[str]:
    return [item["id"] for item in result["data"]]


def cursor_of(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


both_lists = pytest.mark.parametrize("field", ["applications", "runtimes"])


@both_lists
async def test_first_defaults_to_100(api, field):
    created = await create_many(api, field, 101)
    result = await page(api, field)
    assert ids(result) == created[:100]
    assert result["totalCount"] == 101
    assert result["pageInfo"]["hasNextPage"] is True
    rest = await page(api, field, after=result["pageInfo"]["endCursor"])
    assert ids(rest) == created[100:]
    assert rest["pageInfo"]["hasNextPage"] is False


@both_lists
async def test_first_200_is_allowed(api, field):
    created = await create_many(api, field, 3)
    assert ids(await page(api, field, first=200)) == created


@both_lists
@pytest.mark.parametrize("first", [201, 1000, -1, -100])
async def test_first_out_of_range_is_invalid_data(api, field, first):
    await create_many(api, field, 1)
    error = await page_error(api, field, first=first)
    assert error_code(error) == 22
    assert "first" in error["message"]


@both_lists
async def test_first_zero_returns_no_items(api, field):
    await create_many(api, field, 2)
    result = await page(api, field, first=0)
    assert result["data"] == []
    assert result["totalCount"] == 2


@both_lists
@pytest.mark.parametrize(
    "after",
    [
        "garbage",
        "!!!",
        "%%%%",
        cursor_of("no separator"),
        cursor_of("not a time|some-id"),
        base64.urlsafe_b64encode(b"\xff\xfe|x").decode(),
    ],
)
async def test_garbage_cursor_is_invalid_data(api, field, after):
    await create_many(api, field, 1)
    error = await page_error(api, field, after=after)
    assert error_code(error) == 22


@both_lists
async def test_walking_pages_covers_every_item_once_in_creation_order(api, field):
    created = await create_many(api, field, 10)
    seen: list[str] = []
    pages = 0
    after = None
    while True:
        result = await page(api, field, first=3, after=after)
        pages += 1
        assert result["totalCount"] == 10
        assert len(result["data"]) == min(3, 10 - len(seen))
        seen += ids(result)
        assert result["pageInfo"]["hasNextPage"] is (len(seen) < 10)
        if not result["pageInfo"]["hasNextPage"]:
            break
        after = result["pageInfo"]["endCursor"]
    assert seen == created
    assert pages == 4


@both_lists
async def test_page_size_dividing_the_list_ends_without_next_page(api, field):
    created = await create_many(api, field, 4)
    first = await page(api, field, first=2)
    assert first["pageInfo"]["hasNextPage"] is True
    second = await page(api, field, first=2, after=first["pageInfo"]["endCursor"])
    assert ids(first) + ids(second) == created
    assert second["pageInfo"]["hasNextPage"] is False


@both_lists
async def test_cursors_are_opaque_and_differ(api, field):
    await create_many(api, field, 3)
    result = await page(api, field, first=2)
    info = result["pageInfo"]
    assert info["startCursor"] and info["endCursor"]
    assert info["startCursor"] != info["endCursor"]
    assert result["data"][0]["id"] not in info["startCursor"]


@both_lists
async def test_start_cursor_continues_after_the_first_item(api, field):
    created = await create_many(api, field, 3)
    result = await page(api, field, first=2)
    after_start = await page(api, field, after=result["pageInfo"]["startCursor"])
    assert ids(after_start) == created[1:]


@both_lists
async def test_empty_list(api, field):
    result = await page(api, field)
    assert result["data"] == []
    assert result["totalCount"] == 0
    assert result["pageInfo"]["hasNextPage"] is False


@both_lists
async def test_cursor_past_the_end_gives_an_empty_page(api, field):
    await create_many(api, field, 2)
    last = await page(api, field)
    result = await page(api, field, after=last["pageInfo"]["endCursor"])
    assert result["data"] == []
    assert result["totalCount"] == 2
    assert result["pageInfo"]["hasNextPage"] is False


@both_lists
async def test_items_added_while_walking_appear_at_the_end(api, field):
    created = await create_many(api, field, 4, prefix="old")
    first = await page(api, field, first=2)
    created += await create_many(api, field, 2, prefix="new")
    rest = await page(api, field, after=first["pageInfo"]["endCursor"])
    assert ids(first) + ids(rest) == created
    assert rest["totalCount"] == 6


async def test_cursor_of_a_deleted_item_still_works(api):
    created = await create_many(api, "applications", 4)
    first = await page(api, "applications", first=2)
    await api.data(
        "mutation($id: ID!) { unregisterApplication(id: $id) { id } }", {"id": created[1]}
    )
    rest = await page(api, "applications", after=first["pageInfo"]["endCursor"])
    assert ids(rest) == created[2:]
    assert rest["totalCount"] == 3


@both_lists
async def test_filtered_walk_counts_only_matching_items(api, field):
    created = await create_many(api, field, 6)
    setter = {
        "applications": "setApplicationLabel(applicationID: $id",
        "runtimes": "setRuntimeLabel(runtimeID: $id",
    }[field]
    for object_id in created[::2]:
        await api.data(
            f'mutation($id: ID!) {{ {setter}, key: "even", value: true) {{ key }} }}',
            {"id": object_id},
        )
    first = await page(api, field, first=2, filter=[{"key": "even"}])
    assert ids(first) == created[0:4:2]
    assert first["totalCount"] == 3
    assert first["pageInfo"]["hasNextPage"] is True
    rest = await page(
        api, field, first=2, filter=[{"key": "even"}], after=first["pageInfo"]["endCursor"]
    )
    assert ids(rest) == [created[4]]
    assert rest["pageInfo"]["hasNextPage"] is False
