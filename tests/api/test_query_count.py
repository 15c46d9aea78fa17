"""Nested fields load through dataloaders: a page costs the same number of SQL
statements whatever its size."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event

APPLICATIONS = "{ applications(first: 100) { data { id labels webhooks { url } } } }"
RUNTIMES = "{ runtimes(first: 100) { data { id labels } } }"


# Set in the test's task around the request under test: httpx's ASGI transport
# runs the app in that task, so its statements see it; the background workers
# (outbox, agent supervisor) run in tasks of their own, started before, and do not.
_UNDER_TEST: ContextVar[bool] = ContextVar("statement_under_test", default=False)


@contextmanager
def counting_statements(app: Any) -> Iterator[list[str]]:
    """Statements of the requests made inside the block, and of nothing else."""
    statements: list[str] = []
    engine = app.state.compass.engine.sync_engine

    def count(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        if _UNDER_TEST.get():
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    marked = _UNDER_TEST.set(True)
    try:
        yield statements
    finally:
        _UNDER_TEST.reset(marked)
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


AGENT_QUERY = """query($runtime: ID!) {
  applicationsForRuntime(runtimeID: $runtime, first: 100) { data {
    id name labels
    bundles { totalCount data {
      id name defaultInstanceAuth { credential { ... on BasicCredentialData { username } } }
      apiDefinitions { totalCount data { name targetURL spec { data type format
        fetchRequest { status { condition } } } version { value } } }
      eventDefinitions { totalCount data { name spec { data type format } } }
      documents { totalCount data { title data } }
    } }
  } }
}"""


async def _register_shop(api, i: int, bundles: int) -> None:
    spec = {"type": "OPEN_API", "format": "JSON", "data": '{"openapi": "3.0.0"}'}
    bundle_inputs = [
        {
            "name": f"bundle-{b}",
            "defaultInstanceAuth": {"credential": {"basic": {"username": "u", "password": "p"}}},
            "apiDefinitions": [
                {"name": f"api-{b}", "targetURL": "https://shop.example/api", "spec": spec}
            ],
            "eventDefinitions": [
                {
                    "name": f"events-{b}",
                    "spec": {"type": "ASYNC_API", "format": "YAML", "data": "asyncapi: 2.0.0"},
                }
            ],
            "documents": [
                {
                    "title": "guide",
                    "displayName": "Guide",
                    "description": "d",
                    "format": "MARKDOWN",
                    "data": "# guide",
                }
            ],
        }
        for b in range(bundles)
    ]
    await api.data(
        "mutation($in: ApplicationRegisterInput!) { registerApplication(in: $in) { id } }",
        {"in": {"name": f"shop-{i}", "bundles": bundle_inputs}},
    )


async def test_runtime_agent_query_statements_do_not_grow(app, api):
    runtime = await api.data(
        'mutation { registerRuntime(in: {name: "rt", labels: {scenarios: ["DEFAULT"]}}) { id } }'
    )
    variables = {"runtime": runtime["registerRuntime"]["id"]}
    await _register_shop(api, 0, bundles=1)
    one, data = await _statements_for(app, lambda: api.data(AGENT_QUERY, variables))
    assert len(data["applicationsForRuntime"]["data"]) == 1

    for i in range(1, 12):
        await _register_shop(api, i, bundles=3)
    many, data = await _statements_for(app, lambda: api.data(AGENT_QUERY, variables))
    applications = data["applicationsForRuntime"]["data"]
    assert len(applications) == 12
    bundles = [b for a in applications for b in a["bundles"]["data"]]
    assert len(bundles) == 1 + 11 * 3
    assert all(b["apiDefinitions"]["data"][0]["spec"]["type"] == "OPEN_API" for b in bundles)
    assert all(b["eventDefinitions"]["totalCount"] == 1 for b in bundles)
    assert all(b["documents"]["data"][0]["data"] == "# guide" for b in bundles)
    assert all(b["defaultInstanceAuth"]["credential"]["username"] == "u" for b in bundles)

    assert many == one, f"1 application: {one} statements, 12 applications: {many}"
