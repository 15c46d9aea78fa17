"""Only `compass serve` creates a data dir's keys and database: other commands
run on the wrong directory refuse, naming it and how to point at the right one."""

from __future__ import annotations

from pathlib import Path

import pytest

from compass.config import Settings
from compass.pki.secret_box import load_or_create_secret_box
from tests.cli.conftest import clean_env, error_line, run_compass

POINTER = "--data-dir / COMPASS_DATA_DIR"


@pytest.mark.parametrize(
    "command",
    [
        ["token"],
        ["ca", "export"],
        ["tenant", "list"],
        ["tenant", "add", "--name", "x"],
        ["db", "current"],
        ["db", "downgrade"],
        ["secrets", "reseal"],
    ],
    ids=" ".join,
)
def test_commands_run_elsewhere_refuse_and_create_nothing(tmp_path: Path, command: list[str]):
    result = run_compass(*command, cwd=tmp_path)
    error_line(result, 2, str(tmp_path / ".compass"), POINTER)
    assert list(tmp_path.iterdir()) == []


def test_the_variable_points_them_at_the_server_data_dir(tmp_path: Path, served: list[str]):
    data_dir = served[1]
    result = run_compass("token", *served[2:], env=clean_env(COMPASS_DATA_DIR=data_dir))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().count(".") == 2  # a JWT


def test_token_refuses_an_unknown_tenant(served: list[str]):
    result = run_compass("token", "--tenant", "nosuch", *served)
    error_line(result, 2, "'nosuch'", "compass tenant list")
    assert result.stdout == ""


def test_tenant_add_refuses_an_invalid_name(served: list[str]):
    error_line(run_compass("tenant", "add", "--name", "  ", *served), 2, "must not be empty")
    error_line(run_compass("tenant", "add", "--name", "n" * 300, *served), 2, "256")


def test_secrets_reseal_needs_the_servers_key(served: list[str], settings: Settings):
    refused = run_compass("secrets", "reseal", *served)
    error_line(refused, 2, "secrets.key", POINTER)
    load_or_create_secret_box(settings.secrets_key_path())
    result = run_compass("secrets", "reseal", *served)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0 secrets re-encrypted"
