"""What the benchmarks share: a scratch database, fast seeding, statement
counting, interleaved timing of ours against a floor, and the output check.

Seeding writes rows with bulk INSERTs through the project's own tables and
engine (the same column types and JSON encoding the server uses), so a
benchmark of 100,000 applications seeds in seconds, not hours of mutations.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from sqlalchemy import event

__all__ = [
    "BACKGROUND_TABLES",
    "Pair",
    "Timer",
    "asgi_client",
    "backend_name",
    "bench_settings",
    "count_statements",
    "insert_rows",
    "interleave",
    "print_pairs",
    "scaled_arguments",
    "scratch_database",
    "require_same_json",
    "running_app",
    "seed",
    "stamps",
]

# Statements of the server's background workers, which share the engine.
BACKGROUND_TABLES = ("outbox", "provisioned_runtimes", "webhook_deliveries")
INSERT_CHUNK = 2000


def scaled_arguments(
    prog: str, description: str | None, full: int, rounds: int, argv: list[str] | None
) -> argparse.Namespace:
    """The options of the benchmarks that seed a scaled data set."""
    parser = argparse.ArgumentParser(prog=f"python -m bench {prog}", description=description)
    parser.add_argument("--database-url", help="a PostgreSQL server (scratch database used)")
    parser.add_argument("--scale", type=float, default=1.0, help=f"fraction of {full} applications")
    parser.add_argument("--rounds", type=int, default=rounds, help="interleaved ours/floor pairs")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 10 or args.rounds < 1:
        parser.error("--scale must be in (0, 10] and --rounds at least 1")
    return args


def backend_name(database_url: str | None) -> str:
    return "PostgreSQL" if database_url else "SQLite"


async def _admin_sql(url: Any, statement: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(sa.text(statement))
    finally:
        await engine.dispose()


@contextlib.contextmanager
def scratch_database(url: str | None) -> Iterator[str | None]:
    """A fresh `compass_bench_<random>` database on the server of `url`, dropped
    afterwards, so the database named in `url` stays untouched."""
    if url is None:
        yield None
        return
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"compass_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin_sql(base, f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin_sql(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def bench_settings(database_url: str | None) -> Iterator[Any]:
    """Settings over a temporary data directory and a migrated scratch database."""
    from compass import migrate
    from compass.config import Settings

    with scratch_database(database_url) as url:
        with tempfile.TemporaryDirectory(prefix="compass-bench-") as directory:
            settings = Settings(data_dir=Path(directory), database_url=url)
            migrate.upgrade(settings)
            yield settings


async def insert_rows(connection: Any, table: Any, rows: Iterable[dict[str, Any]]) -> int:
    """Bulk INSERT (executemany) of plain dicts into a project table, in chunks."""
    statement = sa.insert(getattr(table, "__table__", table))
    chunk: list[dict[str, Any]] = []
    count = 0
    for row in rows:
        chunk.append(row)
        if len(chunk) == INSERT_CHUNK:
            await connection.execute(statement, chunk)
            count, chunk = count + len(chunk), []
    if chunk:
        await connection.execute(statement, chunk)
        count += len(chunk)
    return count


def stamps(start: datetime | None = None) -> Iterator[datetime]:
    """Strictly increasing creation times, one millisecond apart."""
    current = start or datetime(2026, 1, 1, tzinfo=UTC)
    while True:
        yield current
        current += timedelta(milliseconds=1)


async def seed(settings: Any, fill: Callable[[Any], Awaitable[Any]]) -> Any:
    """Runs `fill(connection)` in one transaction before the server starts, so
    that its background workers do not wait on (or time out behind) the bulk
    writes; the default tenant is created first, as a start-up would."""
    from compass.bootstrap import ensure_default_tenant
    from compass.db import create_engine, create_session_factory

    engine = create_engine(settings.sqlalchemy_url())
    try:
        await ensure_default_tenant(create_session_factory(engine))
        async with engine.begin() as connection:
            result = await fill(connection)
        if engine.dialect.name == "postgresql":
            # What autovacuum would soon do after bulk writes; SQLite keeps no
            # statistics unless asked, so it stays without, as a server's would.
            async with engine.begin() as connection:
                await connection.execute(sa.text("ANALYZE"))
        return result
    finally:
        await engine.dispose()


@contextlib.contextmanager
def count_statements(engine: Any) -> Iterator[list[str]]:
    """SQL statements run on `engine` (an AsyncEngine) inside the block, the
    background workers' left out."""
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if not any(table in statement for table in BACKGROUND_TABLES):
            statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


@contextlib.asynccontextmanager
async def running_app(settings: Any) -> AsyncIterator[Any]:
    """The real server application (`compass.app.create_app`) with its lifespan,
    the heap settled as `compass serve` settles it once started."""
    from compass.app import create_app
    from compass.server import freeze_startup_heap

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        gc.collect()  # the benchmark's own set-up is not start-up's
        freeze_startup_heap()
        yield app


@contextlib.asynccontextmanager
async def asgi_client(app: Any, token: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """In-process HTTP through httpx's ASGI transport (no sockets), the same for
    our server and for every floor."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bench", headers=headers, timeout=600.0
    ) as client:
        yield client


def require_same_json(ours: Any, floor: Any, what: str) -> None:
    """The floor must produce what we produce: compared as parsed JSON."""
    left = orjson.loads(ours) if isinstance(ours, bytes | str) else ours
    right = orjson.loads(floor) if isinstance(floor, bytes | str) else floor
    if left != right:
        raise SystemExit(f"{what}: our output and the floor's differ")


@dataclass(frozen=True)
class Pair:
    ours: float  # seconds
    floor: float

    @property
    def ratio(self) -> float:
        return self.ours / self.floor


class Timer:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self) -> Timer:
        self._started = time.perf_counter()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.seconds = time.perf_counter() - self._started


async def interleave(
    ours: Callable[[], Awaitable[Any]], floor: Callable[[], Awaitable[Any]], rounds: int
) -> list[Pair]:
    """Rounds of ours then floor, timed each, so both see the same machine load."""
    pairs = []
    for _ in range(rounds):
        with Timer() as mine:
            await ours()
        with Timer() as theirs:
            await floor()
        pairs.append(Pair(mine.seconds, theirs.seconds))
    return pairs


def print_pairs(
    title: str,
    pairs: list[Pair],
    scale: float = 1e3,
    unit: str = "ms",
    names: tuple[str, str] = ("ours", "floor"),
) -> None:
    ratios = [pair.ratio for pair in pairs]
    ours = statistics.median(pair.ours for pair in pairs) * scale
    floor = statistics.median(pair.floor for pair in pairs) * scale
    mine, theirs = names
    print(
        f"  {title}: {mine} {ours:.1f} {unit}, {theirs} {floor:.1f} {unit} (medians);"
        f" {mine}/{theirs} x{statistics.median(ratios):.2f}"
        f" (min x{min(ratios):.2f}, max x{max(ratios):.2f}, {len(pairs)} interleaved pairs)"
    )
