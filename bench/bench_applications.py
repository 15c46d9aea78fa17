"""Listing applications with labels and webhooks: SQL statements and time per page
for a small and a large tenant, and their ratio.

With dataloaders the statement count stays flat and the time grows far less than
the number of applications. Runs the ASGI app in-process on a temporary SQLite
data directory:

    python bench/bench_applications.py [--small 10] [--large 100] [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

from compass import migrate
from compass.app import create_app
from compass.auth.scopes import ADMIN_SCOPES
from compass.auth.tokens import mint_user_token
from compass.config import DEFAULT_TENANT_ID, Settings
from compass.pki.jwt_keys import load_or_create_signing_key

PAGE = "{ applications(first: 100) { totalCount data { id name labels webhooks { url } } } }"
REGISTER = "mutation($in: ApplicationRegisterInput!) { registerApplication(in: $in) { id } }"


async def _post(client: httpx.AsyncClient, query: str, variables: dict | None = None) -> Any:
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}})
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


async def _register(client: httpx.AsyncClient, start: int, stop: int) -> None:
    for i in range(start, stop):
        application = {
            "name": f"bench-{i}",
            "labels": {"team": f"team-{i % 7}", "tier": i % 3},
            "webhooks": [{"type": "CONFIGURATION_CHANGED", "url": f"https://hooks.example/{i}"}],
        }
        await _post(client, REGISTER, {"in": application})


async def _measure(app: Any, client: httpx.AsyncClient, size: int, rounds: int) -> dict:
    statements: list[str] = []

    def count(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        statements.append(statement)

    data = await _post(client, PAGE)  # warm up caches and connections
    assert data["applications"]["totalCount"] == size, data["applications"]["totalCount"]
    engine = app.state.compass.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        data = await _post(client, PAGE)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(data["applications"]["data"]) == size

    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        await _post(client, PAGE)
        timings.append(time.perf_counter() - started)
    return {"size": size, "statements": len(statements), "ms": statistics.median(timings) * 1e3}


async def run(small: int, large: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="compass-bench-") as directory:
        settings = Settings(data_dir=Path(directory))
        migrate.upgrade(settings)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            key = load_or_create_signing_key(settings.jwt_key_path())
            token = mint_user_token(
                key,
                subject="bench",
                tenant=DEFAULT_TENANT_ID,
                scopes=list(ADMIN_SCOPES),
                lifetime=timedelta(hours=1),
            )
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport,
                base_url="http://compass.bench",
                headers={"Authorization": f"Bearer {token}"},
            ) as client:
                await _register(client, 0, small)
                few = await _measure(app, client, small, rounds)
                await _register(client, small, large)
                many = await _measure(app, client, large, rounds)

    print(f"{'applications':>12}  {'statements':>10}  {'ms/page (median)':>16}")
    for row in (few, many):
        print(f"{row['size']:>12}  {row['statements']:>10}  {row['ms']:>16.2f}")
    print(
        f"ratio {large}/{small}: statements x{many['statements'] / few['statements']:.2f}, "
        f"time x{many['ms'] / few['ms']:.2f} (applications x{large / small:.0f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    if not 0 < args.small < args.large <= 100:
        parser.error("need 0 < --small < --large <= 100 (one page)")
    asyncio.run(run(args.small, args.large, args.rounds))


if __name__ == "__main__":
    main()
