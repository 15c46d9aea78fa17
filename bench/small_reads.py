"""Small reads: `application(id) { id name }` over HTTP with 16 keep-alive
connections, against its floor, a bare Starlette + SQLAlchemy endpoint that
verifies the same JWT and reads the same row under the same uvicorn.

Both servers are real processes on 127.0.0.1 and share one data directory
(SQLite by default, a scratch PostgreSQL database with `--database-url`).
Rounds alternate ours / floor; each pair gives one ratio (floor rate / our
rate), printed as the median with min-max, with the SQL statements one
request runs on each side:

    python -m bench small_reads [--database-url postgresql+asyncpg://...] [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.common import scratch_database

__all__ = [
    "AdminClient",
    "Pair",
    "Rate",
    "ServerProcess",
    "count_statements",
    "main",
    "on",
    "print_ratios",
    "start_compass",
    "start_floor",
]

LOOPBACK = "127.0.0.1"
READY_TIMEOUT = 60.0
CONNECTIONS = 16
QUERY = "query($id: ID!) { application(id: $id) { id name } }"
REGISTER = "mutation($in: ApplicationRegisterInput!) { registerApplication(in: $in) { id } }"


# --- processes and databases -------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def wait_ready(self, path: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"server exited early:\n{self.log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(self.url + path, timeout=2.0).status_code == 200:
                    return
            time.sleep(0.2)
        raise SystemExit(f"server not ready after {READY_TIMEOUT:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)


def _server_env(database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPASS_")}
    env["COMPASS_LOG_LEVEL"] = "warning"
    if database_url:
        env["COMPASS_DATABASE_URL"] = database_url
    return env


def _spawn(command: list[str], env: dict[str, str], log: Path, port: int) -> ServerProcess:
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    return ServerProcess(process, port, log)


@contextlib.contextmanager
def start_compass(data_dir: Path, database_url: str | None) -> Iterator[ServerProcess]:
    """`compass serve` itself: the public listener is the one measured."""
    port, mtls_port = _free_port(), _free_port()
    command = [sys.executable, "-m", "compass.cli", "serve", "--host", LOOPBACK]
    command += ["--port", str(port), "--mtls-port", str(mtls_port), "--data-dir", str(data_dir)]
    server = _spawn(command, _server_env(database_url), data_dir / "compass.log", port)
    try:
        server.wait_ready("/readyz")
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def start_floor(module: str, data_dir: Path, database_url: str | None) -> Iterator[ServerProcess]:
    """`python -m <module> --serve-floor`: the module's bare Starlette app."""
    port = _free_port()
    command = [sys.executable, "-m", module, "--serve-floor", "--port", str(port)]
    command += ["--data-dir", str(data_dir)]
    if database_url:
        command += ["--database-url", database_url]
    env = _server_env(None)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent.parent), *sys.path])
    server = _spawn(command, env, data_dir / f"floor-{port}.log", port)
    try:
        server.wait_ready("/ready")
        yield server
    finally:
        server.stop()


def run_floor(app: Any, port: int) -> None:
    """The floor under uvicorn configured as `compass serve` configures it."""
    import uvicorn

    uvicorn.run(
        app, host=LOOPBACK, port=port, proxy_headers=False, log_config=None, log_level="warning"
    )


def settings_for(data_dir: Path, database_url: str | None) -> Any:
    from compass.config import Settings

    return Settings(data_dir=data_dir, database_url=database_url)


def floor_engine(settings: Any) -> Any:
    """The floor's engine, with the connection pool `compass serve` has."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from compass.config import DATABASE_POOL_OVERFLOW

    return create_async_engine(
        settings.sqlalchemy_url(),
        pool_size=settings.database_pool_size,
        max_overflow=DATABASE_POOL_OVERFLOW,
    )


def admin_token(data_dir: Path) -> str:
    """An administrator JWT of the default tenant, signed with the server's key."""
    from compass.auth.scopes import ADMIN_SCOPES
    from compass.auth.tokens import mint_user_token
    from compass.config import DEFAULT_TENANT_ID
    from compass.pki.jwt_keys import load_or_create_signing_key

    key = load_or_create_signing_key(settings_for(data_dir, None).jwt_key_path())
    return mint_user_token(
        key,
        subject="bench",
        tenant=DEFAULT_TENANT_ID,
        scopes=list(ADMIN_SCOPES),
        lifetime=timedelta(hours=2),
    )


class AdminClient:
    def __init__(self, url: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=url, timeout=30.0, headers={"Authorization": f"Bearer {token}"}
        )

    def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = self.http.post("/graphql", json={"query": query, "variables": variables or {}})
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise SystemExit(f"seeding failed: {response.text[:500]}")
        return body["data"]

    def register(self, name: str) -> str:
        return self.data(REGISTER, {"in": {"name": name}})["registerApplication"]["id"]

    def close(self) -> None:
        self.http.close()


# --- statement counts ---------------------------------------------------------


async def count_statements(
    app: Any, engine_of: Callable[[Any], Any], send: Callable[[httpx.AsyncClient], Any]
) -> tuple[int, Any]:
    """SQL statements one request runs in `app` (in-process, after one warm-up),
    the background workers' left out."""
    from bench.common import count_statements as counting

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await send(client)
            with counting(engine_of(app)) as statements:
                result = await send(client)
        await engine_of(app).dispose()
    return len(statements), result


# --- load and ratios ------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    per_second: float
    p50_ms: float
    count: int  # requests (or pairings) served
    cpu_ms: float = math.nan  # the server's CPU time per request: robust to a busy machine


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def on(server: ServerProcess, measure: Callable[[], Rate]) -> Rate:
    """`measure` with the CPU time `server` spent on it."""
    before = cpu_seconds(server.process.pid)
    rate = measure()
    spent = cpu_seconds(server.process.pid) - before
    return dataclasses.replace(rate, cpu_ms=spent * 1e3 / max(rate.count, 1))


@dataclass(frozen=True)
class Pair:
    ours: Rate
    floor: Rate

    @property
    def ratio(self) -> float:
        return self.floor.per_second / self.ours.per_second

    @property
    def cpu_ratio(self) -> float:
        return self.ours.cpu_ms / self.floor.cpu_ms


_WRK_SCRIPT = """wrk.method = "POST"
wrk.body = {body}
{headers}
"""


def _wrk(url: str, body: bytes, headers: dict[str, str], seconds: float, work: Path) -> Rate:
    lines = "\n".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())
    script = work / "wrk.lua"
    script.write_text(_WRK_SCRIPT.format(body=json.dumps(body.decode()), headers=lines))
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--latency", "--timeout", "60s"]
    command += ["-s", str(script)]
    result = subprocess.run(command + [url], capture_output=True, text=True, timeout=seconds + 120)
    if "Non-2xx" in result.stdout or "Socket errors" in result.stdout or result.returncode:
        raise SystemExit(f"wrk saw errors:\n{result.stdout}{result.stderr}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))  # type: ignore[union-attr]
    if rate == 0:
        raise SystemExit(f"no request completed in {seconds:g} s; try a longer --seconds")
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", result.stdout)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[p50.group(2)]  # type: ignore[union-attr]
    count = int(re.search(r"(\d+) requests in", result.stdout).group(1))  # type: ignore[union-attr]
    return Rate(rate, float(p50.group(1)) * scale, count)  # type: ignore[union-attr]


async def _httpx_load(url: str, body: bytes, headers: dict[str, str], requests: int) -> Rate:
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    latencies: list[float] = []
    queue = iter(range(requests))
    async with httpx.AsyncClient(limits=limits, timeout=60.0) as client:

        async def worker() -> None:
            for _ in queue:
                started = time.perf_counter()
                response = await client.post(url, content=body, headers=headers)
                response.raise_for_status()
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
        elapsed = time.perf_counter() - started
    return Rate(requests / elapsed, statistics.median(latencies) * 1e3, requests)


def load(url: str, body: bytes, headers: dict[str, str], seconds: float, work: Path) -> Rate:
    """Requests per second with 16 keep-alive connections: wrk if installed, else httpx."""
    if shutil.which("wrk"):
        return _wrk(url, body, headers, seconds, work)
    return asyncio.run(_httpx_load(url, body, headers, int(seconds * 100)))


def _summary(name: str, ratios: list[float]) -> str:
    return (
        f"  {name}: median x{statistics.median(ratios):.2f}"
        f" (min x{min(ratios):.2f}, max x{max(ratios):.2f})"
    )


def print_ratios(title: str, unit: str, pairs: list[Pair], per: str = "request") -> None:
    print(f"{title}  (ours / floor, {len(pairs)} interleaved rounds)")
    for i, pair in enumerate(pairs, 1):
        print(
            f"  round {i}: ours {pair.ours.per_second:7.1f} {unit} p50 {pair.ours.p50_ms:6.1f} ms"
            f" cpu {pair.ours.cpu_ms:5.2f} ms | floor {pair.floor.per_second:7.1f} {unit}"
            f" p50 {pair.floor.p50_ms:6.1f} ms cpu {pair.floor.cpu_ms:5.2f} ms"
            f" | x{pair.ratio:.2f} (cpu x{pair.cpu_ratio:.2f})"
        )
    print(_summary("rate ratio floor/ours", [pair.ratio for pair in pairs]))
    print(_summary(f"server CPU per {per} ours/floor", [pair.cpu_ratio for pair in pairs]))


# --- the floor ------------------------------------------------------------------


def floor_app(data_dir: Path, database_url: str | None) -> Any:
    """Verify the bearer JWT, read the row with one SELECT, answer the same JSON."""
    import jwt
    import sqlalchemy as sa
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from compass.config import LOCAL_TOKEN_ISSUER
    from compass.pki.jwt_keys import load_or_create_signing_key

    settings = settings_for(data_dir, database_url)
    public_key = load_or_create_signing_key(settings.jwt_key_path()).public_key()
    engine = floor_engine(settings)
    select = sa.text(
        "SELECT a.id, a.name FROM applications a JOIN tenants t ON t.id = a.tenant_id"
        " WHERE t.external_id = :tenant AND a.id = :id"
    )

    async def graphql(request: Any) -> Response:
        token = request.headers["authorization"].partition(" ")[2]
        claims = jwt.decode(token, public_key, algorithms=["EdDSA"], issuer=LOCAL_TOKEN_ISSUER)
        variables = orjson.loads(await request.body())["variables"]
        async with engine.connect() as connection:
            parameters = {"tenant": claims["tenant"], "id": variables["id"]}
            row = (await connection.execute(select, parameters)).first()
        found = None if row is None else {"id": row.id, "name": row.name}
        body = orjson.dumps({"data": {"application": found}})
        return Response(body, media_type="application/json")

    async def ready(_request: Any) -> Response:
        return Response(b"ok")

    app = Starlette(routes=[Route("/graphql", graphql, methods=["POST"]), Route("/ready", ready)])
    app.state.engine = engine
    return app


# --- the benchmark ---------------------------------------------------------------


async def _statements(data_dir: Path, database_url: str | None, body: bytes, token: str) -> Any:
    from compass.app import create_app

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def send(client: httpx.AsyncClient) -> bytes:
        return (await client.post("/graphql", content=body, headers=headers)).content

    ours = await count_statements(
        create_app(settings_for(data_dir, database_url)), lambda a: a.state.compass.engine, send
    )
    floor = await count_statements(
        floor_app(data_dir, database_url), lambda a: a.state.engine, send
    )
    return ours, floor


def _run(args: argparse.Namespace, data_dir: Path, database_url: str | None) -> None:
    with start_compass(data_dir, database_url) as ours:
        token = admin_token(data_dir)
        admin = AdminClient(ours.url, token)
        app_id = admin.register("bench-small-read")
        admin.close()
        body = orjson.dumps({"query": QUERY, "variables": {"id": app_id}})
        (our_count, our_bytes), (floor_count, floor_bytes) = asyncio.run(
            _statements(data_dir, database_url, body, token)
        )
        if orjson.loads(our_bytes) != orjson.loads(floor_bytes):
            raise SystemExit(f"outputs differ: {our_bytes!r} vs {floor_bytes!r}")
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        measure = (args.seconds, data_dir)
        with start_floor("bench.small_reads", data_dir, database_url) as floor:
            load(ours.url + "/graphql", body, headers, 2, data_dir)  # warm-up
            load(floor.url + "/graphql", body, headers, 2, data_dir)
            pairs = [
                Pair(
                    on(ours, partial(load, ours.url + "/graphql", body, headers, *measure)),
                    on(floor, partial(load, floor.url + "/graphql", body, headers, *measure)),
                )
                for _ in range(args.rounds)
            ]
    backend = "PostgreSQL" if database_url else "SQLite"
    tool = "wrk" if shutil.which("wrk") else "httpx"
    print(f"small reads on {backend}, {CONNECTIONS} keep-alive connections ({tool})")
    print(f"  SQL statements per request: ours {our_count}, floor {floor_count}")
    same = "identical" if our_bytes == floor_bytes else "equal as JSON"
    print(f"  response: {len(our_bytes)} bytes, {same} to the floor's")
    print_ratios("application(id) { id name }", "req/s", pairs)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench small_reads", description=__doc__)
    parser.add_argument("--database-url", help="PostgreSQL server (a scratch database is used)")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved ours/floor pairs")
    parser.add_argument("--seconds", type=float, default=3.0, help="load per round and side")
    parser.add_argument("--serve-floor", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    if args.serve_floor:
        run_floor(floor_app(args.data_dir, args.database_url), args.port)
        return
    with scratch_database(args.database_url) as database_url:
        with tempfile.TemporaryDirectory(prefix="compass-bench-") as directory:
            _run(args, Path(directory), database_url)


if __name__ == "__main__":
    main()
