"""Nested fields load through dataloaders: a page costs the same number of SQL
statements whatever its size."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

APPLICATIONS = "{ applications(first: 100) { data { id labels webhooks { url } } } }"
RUNTIMES = "{ runtimes(first: 100) { data { id labels } } }"


@contextmanager
def counting_statements(app: Any) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = app.state.compass.engine.sync_engine

    def count(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def _statements_for(app: Any, run: Callable[[], Awaitable[Any]]) -> tuple[int, Any]:
    with counting_statements(app) as statements:
        result = await run()
    return len(statements), result


async def _register_applications(api, start: int, stop: int) -> None:
    for i in range(start, stop):
        await api.data(
            "mutation($in: ApplicationRegisterInput!) { registerApplication(in: $in) { id } }",
            {
                "in": {
                    "name": f"app-{i}",
                    "labels": {"team": f"team-{i}", "tier": i},
                    "webhooks": [
                        {"type": "CONFIGURATION_CHANGED", "url": f"https://hooks.example/{i}"}
                    ],
                }
            },
        )


async def _register_runtimes(api, start: int, stop: int) -> None:
    for i in range(start, stop):
        await api.data(
            "mutation($in: RuntimeInput!) { registerRuntime(in: $in) { id } }",
            {"in": {"name": f"rt-{i}", "labels": {"region": f"r-{i}", "size": i}}},
        )


async def test_application_page_statements_do_not_grow_with_its_size(app, api):
    await _register_applications(api, 0, 1)
    one, data = await _statements_for(app, lambda: api.data(APPLICATIONS))
    page = data["applications"]["data"]
    assert len(page) == 1
    assert page[0]["labels"]["team"] == "team-0"
    assert page[0]["webhooks"] == [{"url": "https://hooks.example/0"}]

    await _register_applications(api, 1, 30)
    thirty, data = await _statements_for(app, lambda: api.data(APPLICATIONS))
    page = data["applications"]["data"]
    assert len(page) == 30
    assert all(item["labels"]["team"].startswith("team-") for item in page)
    assert all(item["labels"]["scenarios"] == ["DEFAULT"] for item in page)
    assert sorted(item["webhooks"][0]["url"] for item in page) == sorted(
        f"https://hooks.example/{i}" for i in range(30)
    )

    assert one > 0
    assert thirty == one, f"1 application: {one} statements, 30 applications: {thirty}"


async def test_runtime_page_statements_do_not_grow_with_its_size(app, api):
    await _register_runtimes(api, 0, 1)
    one, data = await _statements_for(app, lambda: api.data(RUNTIMES))
    page = data["runtimes"]["data"]
    assert len(page) == 1
    assert page[0]["labels"]["region"] == "r-0"

    await _register_runtimes(api, 1, 30)
    thirty, data = await _statements_for(app, lambda: api.data(RUNTIMES))
    page = data["runtimes"]["data"]
    assert len(page) == 30
    assert sorted(item["labels"]["region"] for item in page) == sorted(f"r-{i}" for i in range(30))

    assert one > 0
    assert thirty == one, f"1 runtime: {one} statements, 30 runtimes: {thirty}"
