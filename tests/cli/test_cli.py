"""The `compass` command line: tenants, tokens, migrations, help and schema."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
from alembic.script import ScriptDirectory
from cryptography import x509
from typer.testing import CliRunner

from compass import migrate
from compass.auth.scopes import ADMIN_SCOPES
from compass.cli import app
from compass.config import DEFAULT_TENANT_ID, LOCAL_TOKEN_ISSUER, Settings
from compass.pki.authority import CertificateAuthority
from compass.pki.jwt_keys import load_or_create_signing_key, load_signing_key
from compass.resolvers.schema import build_schema
from tests.cli.conftest import error_line, run_compass

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SERVE_OPTIONS = {
    "--host",
    "--port",
    "--mtls-port",
    "--data-dir",
    "--database-url",
    "--public-url",
    "--mtls-public-url",
    "--log-level",
    "--log-format",
    "--jwt-jwks-url",
    "--jwt-issuer",
    "--jwt-audience",
    "--shutdown-timeout",
    "--database-start-timeout",
}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def db_options(settings: Settings) -> list[str]:
    """Options pointing a command at this test's own migrated database."""
    options = ["--data-dir", str(settings.data_dir)]
    if settings.database_url:
        options += ["--database-url", settings.database_url]
    return options


def _clean_env() -> dict[str, str]:
    """The environment without COMPASS_* settings, so only the flags count."""
    return {k: v for k, v in os.environ.items() if not k.startswith("COMPASS_")}


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "compass.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=_clean_env(),
    )


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert lines, "no output"
    return lines[-1].strip()


def _tenant_rows(runner: CliRunner, db_options: list[str]) -> list[list[str]]:
    result = runner.invoke(app, ["tenant", "list", "--output", "json", *db_options])
    assert result.exit_code == 0, result.output
    return [[row["id"], row["external_id"], row["name"]] for row in json.loads(result.stdout)]


@pytest.fixture
def served_dir(settings: Settings) -> Path:
    """A data dir as `compass serve` leaves it: database, signing key and CA."""
    load_or_create_signing_key(settings.jwt_key_path())
    CertificateAuthority.load_or_create(settings.data_dir)
    return settings.data_dir


def test_tenant_add_prints_the_internal_id_and_list_shows_it(runner, db_options):
    result = runner.invoke(app, ["tenant", "add", "--name", "X", "--external-id", "E", *db_options])
    assert result.exit_code == 0, result.output
    internal_id = _last_line(result.stdout)
    assert UUID.match(internal_id), result.stdout

    result = runner.invoke(app, ["tenant", "add", "--name", "Y", *db_options])
    assert result.exit_code == 0, result.output
    second_id = _last_line(result.stdout)
    assert UUID.match(second_id) and second_id != internal_id

    rows = _tenant_rows(runner, db_options)
    assert [internal_id, "E", "X"] in rows
    assert [second_id, second_id, "Y"] in rows
    assert [DEFAULT_TENANT_ID, DEFAULT_TENANT_ID, "default"] in rows
    assert len(rows) == 3


def test_duplicate_external_id_is_refused(runner, db_options):
    first = runner.invoke(app, ["tenant", "add", "--name", "X", "--external-id", "E", *db_options])
    assert first.exit_code == 0, first.output

    again = run_compass("tenant", "add", "--name", "Z", "--external-id", "E", *db_options)
    error_line(again, 1, "already exists", "'E'")
    assert again.stdout.strip() == ""
    names = [row[2] for row in _tenant_rows(runner, db_options)]
    assert "Z" not in names and names.count("X") == 1


def test_token_carries_tenant_scopes_and_lifetime(runner, db_options, served_dir: Path):
    data_dir = served_dir
    added = runner.invoke(app, ["tenant", "add", "--name", "T", "--external-id", "T", *db_options])
    assert added.exit_code == 0, added.output
    result = runner.invoke(
        app,
        [
            "token",
            "--data-dir",
            str(data_dir),
            "--tenant",
            "T",
            "--scopes",
            "a b",
            "--expires",
            "30m",
            *db_options,
        ],
    )
    assert result.exit_code == 0, result.output
    token = _last_line(result.stdout)

    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["tenant"] == "T"
    assert claims["scopes"] == "a b"
    assert claims["exp"] - claims["iat"] == 30 * 60
    assert abs(claims["iat"] - time.time()) < 60

    key_path = Settings(data_dir=data_dir).jwt_key_path()
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    verified = jwt.decode(
        token,
        load_signing_key(key_path).public_key(),
        algorithms=["EdDSA"],
        issuer=LOCAL_TOKEN_ISSUER,
    )
    assert verified == claims


def test_token_defaults_to_admin_scopes_and_star_means_any_tenant(runner, served_dir: Path):
    result = runner.invoke(app, ["token", "--data-dir", str(served_dir), "--tenant", "*"])
    assert result.exit_code == 0, result.output
    claims = jwt.decode(_last_line(result.stdout), options={"verify_signature": False})
    assert "tenant" not in claims
    assert set(claims["scopes"].split()) == set(ADMIN_SCOPES)
    assert claims["exp"] - claims["iat"] == 3600


def test_token_refuses_a_bad_lifetime(runner, tmp_path: Path):
    result = runner.invoke(app, ["token", "--data-dir", str(tmp_path), "--expires", "soon"])
    assert result.exit_code != 0
    assert "30m" in result.output


def test_db_upgrade_current_downgrade(runner, db_options, settings: Settings):
    head = ScriptDirectory.from_config(migrate.alembic_config(settings)).get_current_head()
    assert head is not None

    result = runner.invoke(app, ["db", "upgrade", *db_options])
    assert result.exit_code == 0, result.output
    current = _run_cli("db", "current", *db_options)
    assert current.returncode == 0, current.stderr
    assert _last_line(current.stdout).split()[0] == head

    result = runner.invoke(app, ["db", "downgrade", "base", *db_options])
    assert result.exit_code == 0, result.output
    current = _run_cli("db", "current", *db_options)
    assert current.returncode == 0, current.stderr
    assert head not in current.stdout
    assert current.stdout.strip() == ""

    result = runner.invoke(app, ["db", "upgrade", *db_options])
    assert result.exit_code == 0, result.output
    current = _run_cli("db", "current", *db_options)
    assert current.returncode == 0, current.stderr
    assert _last_line(current.stdout) == f"{head} (head)"


def test_serve_help_documents_every_setting(runner):
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    for option in SERVE_OPTIONS:
        assert option in text, option
    for name, field in Settings.model_fields.items():
        assert f"COMPASS_{name.upper()}: {field.description}" in text, name


def test_schema_command_prints_the_sdl(runner):
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    assert result.stdout == build_schema().as_str() + "\n"


def test_ca_export_prints_the_ca_created_in_the_data_dir(runner, tmp_path: Path):
    CertificateAuthority.load_or_create(tmp_path)  # as `compass serve` does
    result = runner.invoke(app, ["ca", "export", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    certificate = x509.load_pem_x509_certificate(result.stdout.encode())
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert (tmp_path / "ca.crt").read_text() == result.stdout
    assert (tmp_path / "ca.key").stat().st_mode & 0o777 == 0o600
    again = runner.invoke(app, ["ca", "export", "--data-dir", str(tmp_path)])
    assert again.stdout == result.stdout


def test_ca_export_uses_a_given_ca(runner, tmp_path: Path):
    first = tmp_path / "first"
    CertificateAuthority.load_or_create(first)
    result = runner.invoke(
        app,
        [
            "ca",
            "export",
            "--data-dir",
            str(tmp_path / "other"),
            "--ca-cert",
            str(first / "ca.crt"),
            "--ca-key",
            str(first / "ca.key"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == (first / "ca.crt").read_text()
    assert not (tmp_path / "other" / "ca.crt").exists()
