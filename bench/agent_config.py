"""The runtime agent's configuration query: `applicationsForRuntime` paged
through every application of the runtime's scenarios, with bundles, API and
event definitions (inline specs of about 2 KB), documents and instance auths,
asked exactly as `compass/agent/director.py` asks it, as the runtime itself
(an OAuth client token of the runtime).

The floor answers the same pages with the same bytes (compared as JSON): a
bare Starlette endpoint verifying the same JWT and credential row, then
hand-written SELECTs with IN lists over the same tables, encoded with orjson.
Both run in-process behind httpx's ASGI transport, on the same engine setup:

    python -m bench agent_config [--scale 0.1] [--rounds 3] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from datetime import timedelta
from typing import Any

import orjson

from bench.common import (
    Pair,
    asgi_client,
    backend_name,
    bench_settings,
    count_statements,
    interleave,
    print_pairs,
    require_same_json,
    running_app,
    scaled_arguments,
    seed,
)
from bench.floors import agent_floor_app
from bench.seed import AgentData, seed_agent_data

FULL_APPLICATIONS = 1000


async def _page_through(client: Any, query: str, runtime_id: str) -> list[bytes]:
    """Every page, following endCursor as the agent does."""
    pages, after = [], None
    while True:
        response = await client.post(
            "/graphql", json={"query": query, "variables": {"id": runtime_id, "after": after}}
        )
        response.raise_for_status()
        body = orjson.loads(response.content)
        if body.get("errors"):
            raise SystemExit(f"the query failed: {body['errors']}")
        pages.append(response.content)
        info = body["data"]["applicationsForRuntime"]["pageInfo"]
        if not info["hasNextPage"]:
            return pages
        after = info["endCursor"]


def _check(ours: list[bytes], floor: list[bytes], data: AgentData) -> int:
    if len(ours) != len(floor):
        raise SystemExit(f"pages: ours {len(ours)}, floor {len(floor)}")
    for mine, theirs in zip(ours, floor, strict=True):
        require_same_json(mine, theirs, "applicationsForRuntime page")
    seen = sum(len(orjson.loads(page)["data"]["applicationsForRuntime"]["data"]) for page in ours)
    if seen != data.applications:
        raise SystemExit(f"paged through {seen} applications, seeded {data.applications}")
    return sum(len(page) for page in ours)


async def _run(args: argparse.Namespace, settings: Any) -> None:
    from compass.agent.director import APPLICATIONS
    from compass.auth.tokens import mint_client_token
    from compass.pki.jwt_keys import load_or_create_signing_key

    applications = max(1, round(FULL_APPLICATIONS * args.scale))
    data = await seed(settings, lambda connection: seed_agent_data(connection, applications))
    async with running_app(settings) as app:
        engine = app.state.compass.engine
        key = load_or_create_signing_key(settings.jwt_key_path())
        token = mint_client_token(
            key, system_auth_id=data.system_auth_id, lifetime=timedelta(hours=2)
        )
        floor = agent_floor_app(settings)
        async with (
            floor.router.lifespan_context(floor),
            asgi_client(app, token) as ours_client,
            asgi_client(floor, token) as floor_client,
        ):

            async def ours() -> list[bytes]:
                return await _page_through(ours_client, APPLICATIONS, data.runtime_id)

            async def theirs() -> list[bytes]:
                return await _page_through(floor_client, APPLICATIONS, data.runtime_id)

            with count_statements(engine) as our_statements:
                our_pages = await ours()
            with count_statements(floor.state.engine) as floor_statements:
                floor_pages = await theirs()
            size = _check(our_pages, floor_pages, data)
            pairs = await interleave(ours, theirs, args.rounds)
    _print(args, data, our_pages, size, len(our_statements), len(floor_statements), pairs)


def _print(
    args: argparse.Namespace,
    data: AgentData,
    pages: list[bytes],
    size: int,
    ours: int,
    floor: int,
    pairs: list[Pair],
) -> None:
    backend = backend_name(args.database_url)
    print(
        f"agent configuration on {backend}, in-process (httpx ASGI transport):"
        f" {data.applications} applications x {data.bundles_per_application} bundles x"
        f" ({data.definitions_per_bundle} API + {data.definitions_per_bundle} event definitions"
        f" + 1 document), {len(pages)} pages, {size / 1e6:.1f} MB of JSON, equal to the floor's"
    )
    print(
        f"  SQL statements for the page-through: ours {ours} ({ours / len(pages):.1f} a page),"
        f" floor {floor} ({floor / len(pages):.1f} a page)"
    )
    print_pairs("page-through", pairs, scale=1.0, unit="s")
    median = statistics.median(pair.ours for pair in pairs)
    print(f"  ours: {data.applications / median:.0f} applications/s")


def main(argv: list[str] | None = None) -> None:
    args = scaled_arguments("agent_config", __doc__, FULL_APPLICATIONS, 3, argv)
    with bench_settings(args.database_url) as settings:
        asyncio.run(_run(args, settings))


if __name__ == "__main__":
    main()
