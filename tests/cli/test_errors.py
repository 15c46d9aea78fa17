"""Every configuration mistake ends in one line on stderr naming what to fix,
with exit status 2 (configuration) or 1 (runtime); the traceback only on request."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

from compass.pki.authority import CertificateAuthority
from tests.cli.conftest import clean_env, error_line, run_compass
from tests.e2e.server import free_port

RETRY_LINE = "does not answer"


def _serve(data_dir: Path, *extra: str, env: dict[str, str] | None = None):
    ports = ["--port", str(free_port()), "--mtls-port", str(free_port())]
    return run_compass(
        "serve", "--host", "127.0.0.1", *ports, "--data-dir", str(data_dir), *extra, env=env
    )


def test_port_in_use(tmp_path: Path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run_compass(
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--mtls-port",
            str(free_port()),
            "--data-dir",
            str(tmp_path / "data"),
        )
    error_line(result, 1, f"127.0.0.1:{port}", "--port / COMPASS_PORT", "in use")


def test_unwritable_data_dir():
    # sysfs refuses new directories to every user, root included.
    data_dir = f"/sys/compass-{uuid.uuid4().hex[:8]}"
    result = run_compass("db", "upgrade", "--data-dir", data_dir)
    error_line(result, 2, data_dir, "--data-dir / COMPASS_DATA_DIR")


def test_data_dir_that_is_a_file(tmp_path: Path):
    data_dir = tmp_path / "data"
    data_dir.write_text("not a directory")
    result = _serve(data_dir)
    error_line(result, 2, str(data_dir), "not a directory", "--data-dir / COMPASS_DATA_DIR")


def test_unparsable_database_url(tmp_path: Path):
    env = clean_env(COMPASS_DATABASE_URL="postgres:/nowhere:s3cret@@")
    result = _serve(tmp_path / "data", env=env)
    line = error_line(result, 2, "COMPASS_DATABASE_URL", "not a database URL")
    assert "s3cret" not in line


def test_postgresql_url_without_asyncpg(tmp_path: Path):
    env = clean_env(COMPASS_DATABASE_URL="postgresql://postgres@127.0.0.1/test")
    result = run_compass("db", "upgrade", "--data-dir", str(tmp_path), env=env)
    error_line(result, 2, "COMPASS_DATABASE_URL", "postgresql+asyncpg://")


def test_unreachable_database_is_retried_then_refused(tmp_path: Path):
    url = f"postgresql+asyncpg://postgres:s3cret@127.0.0.1:{free_port()}/test"
    env = clean_env(COMPASS_DATABASE_URL=url, COMPASS_DATABASE_START_TIMEOUT="0.5")
    result = _serve(tmp_path / "data", env=env)
    error_line(result, 1, "did not answer within 0.5 s", "COMPASS_DATABASE_START_TIMEOUT")
    assert "s3cret" not in result.stderr
    attempts = result.stderr.strip().splitlines()[:-1]
    assert all(RETRY_LINE in line and "attempt" in line for line in attempts), attempts


def test_postgresql_database_that_does_not_exist(tmp_path: Path, postgres_url: str):
    missing = make_url(postgres_url).set(database=f"compass_missing_{uuid.uuid4().hex[:8]}")
    url = missing.render_as_string(hide_password=False)
    env = clean_env(COMPASS_DATABASE_URL=url, COMPASS_DATABASE_START_TIMEOUT="60")
    result = _serve(tmp_path / "data", env=env)
    error_line(result, 2, missing.database, "does not exist")
    assert RETRY_LINE not in result.stderr  # a refusal is not retried


def test_bad_value_of_a_variable_without_a_flag(tmp_path: Path):
    env = clean_env(COMPASS_PORT="abc")
    result = run_compass("tenant", "list", "--data-dir", str(tmp_path), env=env)
    error_line(result, 2, "COMPASS_PORT", "integer")


def test_a_setting_no_command_has_a_flag_for_is_named_by_its_variable(tmp_path: Path):
    env = clean_env(COMPASS_WEBHOOK_DELIVERY_HOURS="abc")
    result = _serve(tmp_path / "data", env=env)
    line = error_line(result, 2, "invalid settings: COMPASS_WEBHOOK_DELIVERY_HOURS", "number")
    assert "--webhook-delivery-hours" not in line
    assert "abc" not in line


def test_bad_value_of_a_variable_with_a_flag(tmp_path: Path):
    result = _serve(tmp_path / "data", env=clean_env(COMPASS_LOG_FORMAT="xml"))
    error_line(result, 2, "COMPASS_LOG_FORMAT", "'json'")
    result = run_compass("serve", env=clean_env(COMPASS_PORT="abc"))
    error_line(result, 2, "COMPASS_PORT", "--port")


def test_ca_certificate_without_its_key(tmp_path: Path):
    authority_dir = tmp_path / "ca"
    CertificateAuthority.load_or_create(authority_dir)
    result = _serve(tmp_path / "data", "--ca-cert", str(authority_dir / "ca.crt"))
    error_line(result, 2, "COMPASS_CA_CERT", "COMPASS_CA_KEY")
    assert not (tmp_path / "data").exists()  # refused before anything was created


def test_corrupt_jwt_key(tmp_path: Path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "jwt.key").write_text("-----BEGIN PRIVATE KEY-----\nbroken\n")
    error_line(_serve(data_dir), 2, str(data_dir / "jwt.key"), "not")
    error_line(run_compass("token", "--data-dir", str(data_dir)), 2, "jwt.key")


def test_corrupt_ca_key(tmp_path: Path):
    data_dir = tmp_path / "data"
    CertificateAuthority.load_or_create(data_dir)
    (data_dir / "ca.key").write_text("garbage")
    error_line(_serve(data_dir), 2, str(data_dir / "ca.key"), "not a PEM private key")
    result = run_compass("ca", "export", "--data-dir", str(data_dir))
    error_line(result, 2, "ca.key")


def test_usage_error_is_one_line_too():
    result = run_compass("serve", "--no-such-flag")
    error_line(result, 2, "--no-such-flag", "compass serve --help")


def test_traceback_only_on_request(tmp_path: Path):
    data_dir = tmp_path / "data"
    data_dir.write_text("a file")
    quiet = run_compass("db", "upgrade", "--data-dir", str(data_dir))
    error_line(quiet, 2, "not a directory")
    for args, env in (
        (["--debug", "db", "upgrade", "--data-dir", str(data_dir)], clean_env()),
        (["db", "upgrade", "--data-dir", str(data_dir)], clean_env(COMPASS_LOG_LEVEL="debug")),
    ):
        loud = run_compass(*args, env=env)
        assert loud.returncode == 2
        assert "Traceback" in loud.stderr
        assert loud.stderr.strip().splitlines()[-1] == quiet.stderr.strip()
