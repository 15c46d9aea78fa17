"""Runs one abuse test module with pytest, its size set through the environment
variables the test reads, on SQLite or on the PostgreSQL database given."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["OneLineParser", "run_test"]

ROOT = Path(__file__).resolve().parent.parent


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments are told in one line, without the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message}\n")


def run_test(
    test: str, environment: dict[str, str], database_url: str | None, *options: str
) -> int:
    """The test's exit status; `database_url` is a PostgreSQL URL for
    COMPASS_TEST_DATABASE_URL (the tests make a database of their own there)."""
    env = {**os.environ, **environment}
    env.pop("COMPASS_TEST_DATABASE_URL", None)
    if database_url:
        env["COMPASS_TEST_DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *options, test]
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
