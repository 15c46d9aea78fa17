"""Start-up: `compass serve` from process start to the first `/readyz` 200, with
a data directory (keys, CA, migrated database) that already exists, against
the floor, `bench/startup_floor.py`: a bare Starlette + uvicorn app answering
the same route with the same `SELECT 1`. All are real processes on
127.0.0.1, started alternately.

A third process splits the gap: the same floor, first importing every library
module that `compass serve` has loaded once its app is built, and none of the
project's own, so that what the stack costs by itself stands beside the rest:

    python -m bench startup [--rounds 5] [--database-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.common import Pair, backend_name, bench_settings

LOOPBACK = "127.0.0.1"
READY_TIMEOUT = 120.0
POLL_SECONDS = 0.01


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def _environment(database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPASS_")}
    # Start-ups read compiled bytecode, as from an installed wheel (pip compiles
    # it at install): the warm-up start of each side writes what is missing.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["COMPASS_LOG_LEVEL"] = "warning"
    if database_url:
        env["COMPASS_DATABASE_URL"] = database_url
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent.parent), *sys.path])
    return env


@contextlib.contextmanager
def _process(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with log.open("ab") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


def _time_to_ready(command: list[str], port: int, env: dict[str, str], log: Path) -> float:
    """Seconds from spawning `command` until GET /readyz answers 200."""
    url = f"http://{LOOPBACK}:{port}/readyz"
    started = time.perf_counter()
    with _process(command, env, log) as process, httpx.Client(timeout=5.0) as client:
        while time.perf_counter() - started < READY_TIMEOUT:
            if process.poll() is not None:
                raise SystemExit(f"{command[2]} exited early:\n{log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.TransportError):
                if client.get(url).status_code == 200:
                    return time.perf_counter() - started
            time.sleep(POLL_SECONDS)
    raise SystemExit(f"{command[2]} not ready after {READY_TIMEOUT:.0f} s")


# Run in a process of its own, so that the listing sees only what start-up loads.
_LIBRARY_MODULES = """
import sys
import bench.startup_floor
floor = set(sys.modules)
import compass.cli, compass.migrate, compass.server
from compass.app import create_app
from compass.config import Settings
create_app(Settings(data_dir=sys.argv[1]))
own = ("compass", "bench", "__editable__")
for name, module in list(sys.modules.items()):
    top = name.partition(".")[0]
    if name in floor or top in sys.stdlib_module_names or name.startswith(own):
        continue
    if getattr(module, "__spec__", None) is not None:  # a real module, importable by name
        print(name)
"""


def _list_library_modules(data_dir: Path, env: dict[str, str]) -> Path:
    command = [sys.executable, "-c", _LIBRARY_MODULES, str(data_dir)]
    listing = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    path = data_dir / "library-modules.txt"
    path.write_text(listing.stdout)
    return path


def _ours(data_dir: Path, env: dict[str, str]) -> float:
    port = _free_port()
    command = [sys.executable, "-m", "compass.cli", "serve", "--host", LOOPBACK]
    command += ["--port", str(port), "--mtls-port", str(_free_port())]
    command += ["--data-dir", str(data_dir)]
    return _time_to_ready(command, port, env, data_dir / "compass-serve.log")


def _floor(
    database_url: str, data_dir: Path, env: dict[str, str], modules: Path | None = None
) -> float:
    port = _free_port()
    command = [sys.executable, "-m", "bench.startup_floor", "--port", str(port)]
    command += ["--database-url", database_url]
    if modules is not None:
        command += ["--import-modules", str(modules)]
    return _time_to_ready(command, port, env, data_dir / "floor.log")


def _run(args: argparse.Namespace) -> None:
    with bench_settings(args.database_url) as settings:
        env = _environment(settings.database_url)
        data_dir = settings.data_dir
        _ours(data_dir, env)  # creates the keys and CA: the data dir then exists
        url = settings.sqlalchemy_url()
        modules = _list_library_modules(data_dir, env)
        _floor(url, data_dir, env, modules)  # warm-up, as for ours
        ours, stack = [], []
        for _ in range(args.rounds):
            ours.append(Pair(_ours(data_dir, env), _floor(url, data_dir, env)))
            stack.append(Pair(_floor(url, data_dir, env, modules), ours[-1].floor))
        count = len(modules.read_text().split())
    from bench.common import print_pairs

    print(
        f"start-up on {backend_name(args.database_url)}: process start to /readyz 200,"
        " existing data dir, real processes on 127.0.0.1"
    )
    print_pairs("compass serve vs bare Starlette + uvicorn", ours)
    print_pairs(
        f"the bare app importing the {count} library modules compass serve loads",
        stack,
        names=("stack", "floor"),
    )


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench startup", description=__doc__)
    parser.add_argument("--database-url", help="a PostgreSQL server (scratch database used)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved ours/floor pairs")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    _run(_arguments(argv))


if __name__ == "__main__":
    main()
