"""The wheel runs `compass serve` on its own: built from the source tree,
installed into a fresh virtual environment without downloads, started from a
directory that is not the repository, with the migrations and the GraphiQL
assets read from the installed package."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.e2e.server import LOOPBACK, Server, clean_env, free_port

REPO = Path(__file__).resolve().parents[2]
TEST_DATABASE_URL = os.environ.get("COMPASS_TEST_DATABASE_URL")
BUILD_TIMEOUT = 300.0
VENDORED = [
    "graphiql.min.js",
    "graphiql.min.css",
    "react.production.min.js",
    "react-dom.production.min.js",
]


def _run(command: list[str], cwd: Path) -> str:
    result = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        env=_outside_env(),
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _outside_env() -> dict[str, str]:
    """No COMPASS_* and no PYTHONPATH that could point back at the repository."""
    return {k: v for k, v in clean_env().items() if k != "PYTHONPATH"}


def _source_tree(destination: Path) -> Path:
    """The files git would commit (tracked and new, not ignored): a copy, so that
    building leaves nothing in the working tree and parallel runs do not meet."""
    listed = _run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], REPO
    ).split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = _source_tree(tmp_path_factory.mktemp("source"))
    out = tmp_path_factory.mktemp("dist")
    # No build isolation: the build backend comes from this environment, not a download.
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    _run([*command, "--quiet", "-w", str(out), str(source)], source)
    [built] = out.glob("compass_py-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--system-site-packages", str(root)], root)
    pip = [str(root / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    # --force-reinstall: this environment's editable install must not count as installed.
    _run([*pip, "--no-deps", "--no-index", "--force-reinstall", str(wheel)], root)
    return root


def test_wheel_holds_migrations_and_graphiql_assets(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    migrations = {n for n in names if n.startswith("compass/migrations/versions/")}
    expected = {f"compass/migrations/versions/{p.name}" for p in _revisions()}
    assert migrations >= expected and expected
    assert {"compass/migrations/env.py", "compass/migrations/script.py.mako"} <= names
    assert "compass/graphiql/page.html" in names
    static = {f"compass/graphiql/static/{name}" for name in [*VENDORED, "page.js", "VERSIONS"]}
    assert static <= names
    assert not any(name.startswith("tests/") for name in names)


def _revisions() -> list[Path]:
    return sorted((REPO / "compass" / "migrations" / "versions").glob("*.py"))


def test_imported_compass_is_the_installed_one(venv: Path, tmp_path: Path) -> None:
    python = str(venv / "bin" / "python")
    where = _run([python, "-c", "import compass; print(compass.__file__)"], tmp_path).strip()
    assert Path(where).resolve().is_relative_to(venv.resolve()), where


async def _postgres_admin(url: str, statement: str) -> None:
    parts = make_url(url)
    connection = await asyncpg.connect(
        host=parts.host,
        port=parts.port,
        user=parts.username,
        password=parts.password,
        database=parts.database,
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture
def database_settings() -> Iterator[dict[str, str]]:
    """SQLite in the data dir; with COMPASS_TEST_DATABASE_URL, a new PostgreSQL
    database beside it, so the wheel's migrations run on PostgreSQL too."""
    if TEST_DATABASE_URL is None:
        yield {}
        return
    name = f"compass_wheel_{uuid.uuid4().hex[:10]}"
    asyncio.run(_postgres_admin(TEST_DATABASE_URL, f'CREATE DATABASE "{name}"'))
    url = make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield {"COMPASS_DATABASE_URL": url}
    finally:
        drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        asyncio.run(_postgres_admin(TEST_DATABASE_URL, drop))


@pytest.fixture
def installed_server(
    venv: Path, tmp_path: Path, database_settings: dict[str, str]
) -> Iterator[Server]:
    port, mtls_port = free_port(), free_port()
    while mtls_port == port:
        mtls_port = free_port()
    data_dir, log = tmp_path / "data", tmp_path / "serve.log"
    command = [str(venv / "bin" / "compass"), "serve", "--host", LOOPBACK]
    command += ["--port", str(port), "--mtls-port", str(mtls_port), "--data-dir", str(data_dir)]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**_outside_env(), **database_settings},
        )
    server = Server(process, port, mtls_port, data_dir, log)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.mark.uses_test_database
def test_installed_wheel_serves_readyz_and_graphiql(
    installed_server: Server, venv: Path, wheel: Path
) -> None:
    working_dir = Path(f"/proc/{installed_server.process.pid}/cwd").resolve()
    assert working_dir == installed_server.log.parent.resolve() != REPO
    with httpx.Client(base_url=installed_server.base_url, timeout=10.0) as client:
        assert client.get("/readyz").json() == {"status": "ok", "database": "reachable"}
        page = client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert "graphiql.min.js" in page.text
        asset = client.get("/graphiql/static/graphiql.min.js")
    assert asset.status_code == 200
    with zipfile.ZipFile(wheel) as archive:
        assert asset.content == archive.read("compass/graphiql/static/graphiql.min.js")
    output = installed_server.output()
    assert "Running upgrade" in output
    assert "Traceback" not in output
    on_sqlite = TEST_DATABASE_URL is None
    assert (installed_server.data_dir / "compass.db").is_file() == on_sqlite
