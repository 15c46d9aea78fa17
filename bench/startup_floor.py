"""The start-up floor: a bare Starlette app under uvicorn answering `/readyz`
with the same `SELECT 1` over the same driver, and nothing else.

    python -m bench.startup_floor --port 8000 --database-url sqlite+aiosqlite:///...

With `--import-modules FILE` (one module name a line) it first imports those
modules: given the library modules `compass serve` loads, it measures what
the stack costs before any of the project's own code runs.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

import sqlalchemy as sa
import uvicorn
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


def app_for(database_url: str) -> Starlette:
    engine = create_async_engine(database_url)

    async def readyz(_request: object) -> JSONResponse:
        async with engine.connect() as connection:
            await connection.execute(sa.text("SELECT 1"))
        return JSONResponse({"status": "ok", "database": "reachable"})

    return Starlette(routes=[Route("/readyz", readyz)])


def import_modules(listing: Path) -> None:
    for name in listing.read_text().split():
        importlib.import_module(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--import-modules", type=Path, metavar="FILE")
    args = parser.parse_args()
    if args.import_modules:
        import_modules(args.import_modules)
    uvicorn.run(app_for(args.database_url), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
