"""Deep pages: `applications(first: 200) { data { id labels } }` over 100,000
applications with three labels each, page 1 against page 500 (its cursor built
from the 99,800th row, as walking there would give it).

The floor reads the same rows and labels by hand-written SELECTs (keyset on
(created_at, id), labels by an IN list) after verifying the same JWT, and
encodes with orjson; both in-process behind httpx's ASGI transport:

    python -m bench deep_pages [--scale 0.1] [--rounds 10] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

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
from bench.floors import applications_floor_app, encode_cursor
from bench.seed import seed_labelled_applications

FULL_APPLICATIONS = 100_000
PAGE = 200
DEEP_PAGE = 500
QUERY = (
    "query($first: Int!, $after: PageCursor) { applications(first: $first, after: $after)"
    " { data { id labels } } }"
)


def _token(settings: Any) -> str:
    from compass.auth.scopes import ADMIN_SCOPES
    from compass.auth.tokens import mint_user_token
    from compass.config import DEFAULT_TENANT_ID
    from compass.pki.jwt_keys import load_or_create_signing_key

    return mint_user_token(
        load_or_create_signing_key(settings.jwt_key_path()),
        subject="bench",
        tenant=DEFAULT_TENANT_ID,
        scopes=list(ADMIN_SCOPES),
        lifetime=timedelta(hours=2),
    )


async def _cursor_before(connection: Any, page: int) -> str | None:
    """The cursor after the last row of page `page - 1`."""
    if page == 1:
        return None
    from compass.domain.tables import ApplicationRow

    table = ApplicationRow.__table__
    row = (
        await connection.execute(
            sa.select(table.c.created_at, table.c.id)
            .order_by(table.c.created_at, table.c.id)
            .offset((page - 1) * PAGE - 1)
            .limit(1)
        )
    ).one()
    return encode_cursor(row.created_at, row.id)


async def _fetch(client: Any, after: str | None) -> bytes:
    response = await client.post(
        "/graphql", json={"query": QUERY, "variables": {"first": PAGE, "after": after}}
    )
    response.raise_for_status()
    if b'"errors"' in response.content[:20]:
        raise SystemExit(f"the query failed: {response.text[:500]}")
    return response.content


async def _measure_page(
    number: int, after: str | None, ours: Any, floor: Any, engines: tuple[Any, Any], rounds: int
) -> tuple[list[Pair], int, int]:
    mine, theirs = await _fetch(ours, after), await _fetch(floor, after)  # warm-up
    require_same_json(mine, theirs, f"page {number}")
    with count_statements(engines[0]) as our_statements:
        await _fetch(ours, after)
    with count_statements(engines[1]) as floor_statements:
        await _fetch(floor, after)
    pairs = await interleave(lambda: _fetch(ours, after), lambda: _fetch(floor, after), rounds)
    return pairs, len(our_statements), len(floor_statements)


async def _run(args: argparse.Namespace, settings: Any) -> None:
    applications = max(PAGE * 2, round(FULL_APPLICATIONS * args.scale))
    deep = min(DEEP_PAGE, applications // PAGE)
    await seed(settings, lambda connection: seed_labelled_applications(connection, applications))
    async with running_app(settings) as app:
        engine = app.state.compass.engine
        async with engine.connect() as connection:
            cursors = {1: None, deep: await _cursor_before(connection, deep)}
        floor = applications_floor_app(settings)
        token = _token(settings)
        async with (
            floor.router.lifespan_context(floor),
            asgi_client(app, token) as ours,
            asgi_client(floor, token) as theirs,
        ):
            results = {
                page: await _measure_page(
                    page, after, ours, theirs, (engine, floor.state.engine), args.rounds
                )
                for page, after in cursors.items()
            }
    print(
        f"deep pages on {backend_name(args.database_url)}, in-process (httpx ASGI transport):"
        f" {applications} applications x 3 labels, first: {PAGE}; answers equal to the floor's"
    )
    for page, (pairs, ours_count, floor_count) in results.items():
        print(f"  page {page}: SQL statements ours {ours_count}, floor {floor_count}")
        print_pairs(f"page {page}", pairs)
    first, last = (statistics.median(p.ours for p in results[n][0]) for n in (1, deep))
    print(f"  ours page {deep} / page 1: x{last / first:.2f}")


def main(argv: list[str] | None = None) -> None:
    args = scaled_arguments("deep_pages", __doc__, FULL_APPLICATIONS, 10, argv)
    with bench_settings(args.database_url) as settings:
        asyncio.run(_run(args, settings))


if __name__ == "__main__":
    main()
