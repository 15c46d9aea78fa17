"""`compass serve` stops on SIGTERM although a client stalls; `compass pair`
turns a one-time token into working credentials, or says in one line why not."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import COMMAND_TIMEOUT, error_line, run_compass
from tests.e2e.server import AdminClient, Server, free_port, mint_token, running_server

SHUTDOWN_TIMEOUT = 1
# Only "it exits": the bound is far above SHUTDOWN_TIMEOUT, for a loaded machine.
EXIT_WAIT = 120
STALLED_REQUEST = (
    b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 1000\r\n\r\n{"
)
REGISTER = "mutation($in: ApplicationRegisterInput!) { registerApplication(in: $in) { id } }"
TOKEN = """mutation($id: ID!) { requestOneTimeTokenForApplication(id: $id) { rawEncoded } }"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("pair")
    with running_server(directory / "data", directory / "serve.log") as running:
        yield running


def test_sigterm_with_a_stalled_client_stops_the_server(tmp_path: Path):
    settings = {"COMPASS_SHUTDOWN_TIMEOUT": str(SHUTDOWN_TIMEOUT)}
    with running_server(tmp_path / "data", tmp_path / "serve.log", settings) as running:
        with socket.create_connection(("127.0.0.1", running.port), timeout=EXIT_WAIT) as stalled:
            stalled.sendall(STALLED_REQUEST)  # headers and one byte of a body that never comes
            # A full answer on another connection: by then the server has read the stalled one.
            assert httpx.get(f"{running.base_url}/readyz", timeout=EXIT_WAIT).status_code == 200
            os.kill(running.process.pid, signal.SIGTERM)
            try:
                status = running.process.wait(timeout=EXIT_WAIT)
            except subprocess.TimeoutExpired:
                pytest.fail(f"still running {EXIT_WAIT} s after SIGTERM:\n{running.output()}")
    assert status == 0, running.output()
    assert "Traceback" not in running.output()


def _raw_encoded(server: Server) -> str:
    with AdminClient(server.base_url, mint_token(server.data_dir)) as admin:
        name = f"paired-{uuid.uuid4().hex[:8]}"
        application = admin.data(REGISTER, {"in": {"name": name}})
        answer = admin.data(TOKEN, {"id": application["registerApplication"]["id"]})
    return answer["requestOneTimeTokenForApplication"]["rawEncoded"]


def test_pair_writes_credentials_that_work(server: Server, tmp_path: Path):
    out = tmp_path / "credentials"
    result = run_compass("pair", "--raw-encoded", _raw_encoded(server), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("paired as APPLICATION ")  # a first mTLS call worked
    assert stat.S_IMODE((out / "key.pem").stat().st_mode) == 0o600
    assert (out / "cert.pem").read_text().count("BEGIN CERTIFICATE") >= 2  # leaf and CA
    assert (out / "ca.pem").read_text().count("BEGIN CERTIFICATE") == 1


def test_pair_with_a_used_token_says_why(server: Server, tmp_path: Path):
    raw = _raw_encoded(server)
    assert run_compass("pair", "--raw-encoded", raw, "--out", str(tmp_path / "a")).returncode == 0
    again = run_compass("pair", "--raw-encoded", raw, "--out", str(tmp_path / "b"))
    error_line(again, 1, "/connector/graphql", "one-time token")
    assert not (tmp_path / "b" / "key.pem").exists()


def test_pair_with_a_down_server(tmp_path: Path):
    url = f"http://127.0.0.1:{free_port()}/connector/graphql"
    raw = base64.b64encode(json.dumps({"token": "t", "connectorURL": url}).encode()).decode()
    result = run_compass("pair", "--raw-encoded", raw, "--out", str(tmp_path / "out"))
    error_line(result, 1, "cannot reach", url)


@pytest.mark.parametrize("raw", ["not base64!", base64.b64encode(b"[1, 2]").decode()])
def test_pair_with_a_bad_raw_encoded(tmp_path: Path, raw: str):
    result = run_compass("pair", "--raw-encoded", raw, "--out", str(tmp_path / "out"))
    error_line(result, 2, "--raw-encoded")
    assert not (tmp_path / "out").exists()


def test_example_script_answers_in_one_line(tmp_path: Path):
    example = Path(__file__).resolve().parents[2] / "examples" / "pair_application.py"
    url = f"http://127.0.0.1:{free_port()}/connector/graphql"
    raw = base64.b64encode(json.dumps({"token": "t", "connectorURL": url}).encode()).decode()
    for arguments, expected in (
        (["--raw-encoded", "@@"], "--raw-encoded"),
        (["--raw-encoded", raw], "cannot reach"),
    ):
        result = subprocess.run(
            [sys.executable, str(example), *arguments, "--out", str(tmp_path / "out")],
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and expected in result.stderr
