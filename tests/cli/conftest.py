"""Running the real `compass` command as a process, and reading how it failed."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from compass.config import Settings
from compass.db import create_engine
from compass.pki.authority import CertificateAuthority
from compass.pki.jwt_keys import load_or_create_signing_key

COMMAND_TIMEOUT = 120.0
# `compass: ...`, or for usage errors the command's path: `compass serve: ...`.
ERROR_LINE = re.compile(r"^compass( [a-z-]+)*: ")
POSTGRES_URL = os.environ.get(
    "COMPASS_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def clean_env(**settings: str) -> dict[str, str]:
    """The caller's environment without COMPASS_*, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPASS_")}
    return {**env, **settings}


def run_compass(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "compass.cli", *args],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        env=env if env is not None else clean_env(),
        cwd=cwd,
    )


def error_line(result: subprocess.CompletedProcess[str], status: int, *fragments: str) -> str:
    """The command failed with `status` and said why in one ERROR_LINE at the
    end of stderr, naming every fragment, with no traceback; returns that line."""
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines, "nothing on stderr"
    said = [line for line in lines if ERROR_LINE.match(line)]
    assert said == [lines[-1]], result.stderr
    for fragment in fragments:
        assert fragment in lines[-1], (fragment, lines[-1])
    return lines[-1]


async def _postgres_admin(statement: str) -> bool:
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(sa.text(statement))
        return True
    except OSError:
        return False
    finally:
        await engine.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database beside the configured one, dropped at the end."""
    if not asyncio.run(_postgres_admin("SELECT 1")):
        pytest.skip(f"PostgreSQL does not answer at {make_url(POSTGRES_URL).host}")
    name = f"compass_cli_{uuid.uuid4().hex[:10]}"
    asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def served(settings: Settings) -> list[str]:
    """Options for a data dir as `compass serve` leaves it (database, key, CA)."""
    load_or_create_signing_key(settings.jwt_key_path())
    CertificateAuthority.load_or_create(settings.data_dir)
    options = ["--data-dir", str(settings.data_dir)]
    if settings.database_url:
        options += ["--database-url", settings.database_url]
    listed = run_compass("tenant", "list", *options)  # and, like serve, adds the default tenant
    assert listed.returncode == 0, listed.stderr
    return options
