"""The shape of the heavy reads: the runtime agent's configuration query costs
the same statements for 5 or 50 applications a page, and a deep keyset page
of applications and its labels are index searches, not table scans."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from compass.agent.director import APPLICATIONS as AGENT_QUERY
from tests.api.test_client_credentials import access_token, as_client, client_for
from tests.api.trust import register_runtime

SCENARIO = "DEFAULT"
BACKGROUND_TABLES = ("outbox", "provisioned_runtimes", "webhook_deliveries")
PAGE = (
    "query($after: PageCursor) { applications(first: 10, after: $after) {"
    " pageInfo { endCursor } data { id labels } } }"
)


# A runtime's calls refresh its "last seen" time once every few seconds: a
# write whose presence depends on the clock, not on the query.
LAST_SEEN_WRITE = "UPDATE runtimes SET last_seen_at"


@contextmanager
def captured(app: Any) -> Iterator[list[tuple[str, Any]]]:
    """Statements and parameters of requests (background workers and the
    last-seen refresh left out)."""
    found: list[tuple[str, Any]] = []
    engine = app.state.compass.engine.sync_engine

    def capture(_conn, _cursor, statement, parameters, _context, _executemany) -> None:
        ignored = any(table in statement for table in BACKGROUND_TABLES)
        if not ignored and not statement.lstrip().startswith(LAST_SEEN_WRITE):
            found.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def _bundle(number: int) -> dict[str, Any]:
    return {
        "name": f"bundle-{number}",
        "apiDefinitions": [
            {
                "name": f"api-{number}",
                "targetURL": "https://shop.example/api",
                "spec": {"type": "OPEN_API", "format": "YAML", "data": "openapi: 3.0.0"},
            }
        ],
        "eventDefinitions": [
            {
                "name": f"events-{number}",
                "spec": {"type": "ASYNC_API", "format": "YAML", "data": "asyncapi: 2.0.0"},
            }
        ],
        "documents": [
            {
                "title": "guide",
                "displayName": "Guide",
                "description": "how to",
                "format": "MARKDOWN",
                "data": "# guide",
            }
        ],
    }


async def _register_applications(api, start: int, stop: int, labels: dict | None = None) -> None:
    for i in range(start, stop):
        application = {"name": f"shop-{i}", "labels": labels or {"team": f"team-{i}"}}
        if labels is not None:
            application["bundles"] = [_bundle(b) for b in range(2)]
        await api.data(
            "mutation($in: ApplicationRegisterInput!) { registerApplication(in: $in) { id } }",
            {"in": application},
        )


async def _agent_page(app, agent, runtime_id: str) -> tuple[int, list[dict[str, Any]]]:
    with captured(app) as statements:
        data = await agent.data(AGENT_QUERY, {"id": runtime_id, "after": None})
    page = data["applicationsForRuntime"]
    assert page["pageInfo"]["hasNextPage"] is False
    return len(statements), page["data"]


async def test_agent_query_statements_do_not_grow_with_the_applications_a_page(app, api):
    runtime_id = await register_runtime(api, "cluster", {"labels": {"scenarios": [SCENARIO]}})
    credential = (await client_for(api, "Runtime", runtime_id))["auth"]["credential"]
    agent = as_client(api, await access_token(api, credential))
    await _register_applications(api, 0, 5, {"scenarios": [SCENARIO]})
    await agent.data(AGENT_QUERY, {"id": runtime_id, "after": None})  # warm-up

    five, page = await _agent_page(app, agent, runtime_id)
    assert sorted(a["name"] for a in page) == [f"shop-{i}" for i in range(5)]

    await _register_applications(api, 5, 50, {"scenarios": [SCENARIO]})
    fifty, page = await _agent_page(app, agent, runtime_id)
    assert sorted(a["name"] for a in page) == sorted(f"shop-{i}" for i in range(50))
    for application in page:
        bundles = application["bundles"]
        assert bundles["totalCount"] == 2
        assert [b["name"] for b in bundles["data"]] == ["bundle-0", "bundle-1"]
        for number, bundle in enumerate(bundles["data"]):
            assert bundle["apiDefinitions"]["data"][0]["name"] == f"api-{number}"
            assert bundle["eventDefinitions"]["data"][0]["spec"]["type"] == "ASYNC_API"
            assert bundle["documents"]["data"][0]["data"] == "# guide"
            assert bundle["instanceAuths"] == []
        assert application["labels"]["scenarios"] == [SCENARIO]

    assert five > 0
    assert fifty == five, f"5 applications: {five} statements, 50 applications: {fifty}"


def _applications_select(statements: list[tuple[str, Any]]) -> tuple[str, Any]:
    return next((s, p) for s, p in statements if s.lstrip().startswith("SELECT applications.id"))


def _labels_select(statements: list[tuple[str, Any]]) -> tuple[str, Any]:
    return next((s, p) for s, p in statements if "FROM labels" in s and "app_id IN" in s)


async def _plan(app, statement: str, parameters: Any) -> str:
    """The plan of `statement` as the database would run it: SQLite's EXPLAIN
    QUERY PLAN, or PostgreSQL's with fresh statistics and sequential scans ruled
    out (on a table this small it would scan anyway; the question is whether
    an index serves the query's conditions)."""
    engine = app.state.compass.engine
    async with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            return "\n".join(str(row[-1]) for row in rows)
        await connection.exec_driver_sql("ANALYZE applications, labels")  # as after seeding
        await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        rows = await connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
        return json.dumps(rows.scalar())


async def test_a_deep_keyset_page_and_its_labels_are_index_searches(app, api):
    await _register_applications(api, 0, 35)
    after = None
    for _ in range(3):  # walk to page 3 the way a client does
        with captured(app) as statements:
            data = await api.data(PAGE, {"after": after})
        after = data["applications"]["pageInfo"]["endCursor"]
    assert [a["labels"]["team"] for a in data["applications"]["data"]] == [
        f"team-{i}" for i in range(20, 30)
    ]

    page_plan = await _plan(app, *_applications_select(statements))
    labels_plan = await _plan(app, *_labels_select(statements))
    if app.state.compass.engine.dialect.name == "sqlite":
        assert "USING INDEX ix_applications_page (tenant_id=? AND (created_at,id)>(?,?))" in (
            page_plan
        ), page_plan
        assert "SCAN applications" not in page_plan, page_plan
        assert "USING INDEX ix_labels_tenant_app" in labels_plan, labels_plan
        assert "SCAN labels" not in labels_plan, labels_plan
    else:
        assert '"Index Name": "ix_applications_page"' in page_plan, page_plan
        assert "AND (ROW(created_at, " in page_plan, page_plan  # in the Index Cond
        assert "Seq Scan" not in page_plan, page_plan
        # Which of the tenant's label indexes serves 70 rows is the cost model's
        # call on PostgreSQL; that the label read is not a table scan is ours.
        assert "Seq Scan" not in labels_plan, labels_plan
