"""`compass serve` as a real process: start, register, match, stop, start again."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from compass.config import Settings

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
SCENARIO = "E2E_SCENARIO"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _clean_env() -> dict[str, str]:
    """No COMPASS_* from the caller: the server uses SQLite in its data dir."""
    return {k: v for k, v in os.environ.items() if not k.startswith("COMPASS_")}


class Server:
    def __init__(self, process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
        self.process = process
        self.base_url = base_url
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(
                        f"compass serve exited with {self.process.returncode}:\n{self.output()}"
                    )
                try:
                    if client.get("/readyz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
        raise AssertionError(
            f"compass serve not ready after {READY_TIMEOUT:.0f} s:\n{self.output()}"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=STOP_TIMEOUT)


@contextmanager
def running_server(data_dir: Path, log: Path) -> Iterator[Server]:
    port = _free_port()
    command = [sys.executable, "-m", "compass.cli", "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=_clean_env())
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def _mint_token(data_dir: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "compass.cli", "token", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        env=_clean_env(),
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


class Client:
    def __init__(self, base_url: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=base_url, timeout=10.0, headers={"Authorization": f"Bearer {token}"}
        )

    def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = self.http.post("/graphql", json={"query": query, "variables": variables or {}})
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return body["data"]

    def close(self) -> None:
        self.http.close()


def _add_scenario(client: Client, name: str) -> None:
    current = client.data('{ labelDefinition(key: "scenarios") { schema } }')
    schema = json.loads(current["labelDefinition"]["schema"])
    schema["items"]["enum"].append(name)
    updated = client.data(
        "mutation($in: LabelDefinitionInput!) { updateLabelDefinition(in: $in) { schema } }",
        {"in": {"key": "scenarios", "schema": json.dumps(schema)}},
    )
    assert name in json.loads(updated["updateLabelDefinition"]["schema"])["items"]["enum"]


def _register_application(client: Client, name: str, scenarios: list[str]) -> str:
    data = client.data(
        "mutation($in: ApplicationRegisterInput!) { registerApplication(in: $in) { id } }",
        {"in": {"name": name, "labels": {"scenarios": scenarios}}},
    )
    return data["registerApplication"]["id"]


def _apps_for_runtime(client: Client, runtime_id: str) -> list[str]:
    data = client.data(
        "query($id: ID!) { applicationsForRuntime(runtimeID: $id) { data { name } } }",
        {"id": runtime_id},
    )
    return sorted(app["name"] for app in data["applicationsForRuntime"]["data"])


def test_serve_registers_matches_and_keeps_data_across_restarts(tmp_path: Path):
    data_dir = tmp_path / "data"

    with running_server(data_dir, tmp_path / "first.log") as server:
        key_path = Settings(data_dir=data_dir).jwt_key_path()
        assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
        key = key_path.read_bytes()

        token = _mint_token(data_dir)
        client = Client(server.base_url, token)
        try:
            _add_scenario(client, SCENARIO)
            _register_application(client, "in-scenario", [SCENARIO])
            _register_application(client, "elsewhere", ["DEFAULT"])
            runtime = client.data(
                "mutation($in: RuntimeInput!) { registerRuntime(in: $in) { id labels } }",
                {"in": {"name": "rt-1", "labels": {"scenarios": [SCENARIO]}}},
            )["registerRuntime"]
            assert runtime["labels"]["scenarios"] == [SCENARIO]
            assert _apps_for_runtime(client, runtime["id"]) == ["in-scenario"]
        finally:
            client.close()
    assert server.process.returncode is not None

    with running_server(data_dir, tmp_path / "second.log") as server:
        assert "Traceback" not in server.output()
        assert key_path.read_bytes() == key
        assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
        client = Client(server.base_url, token)
        try:
            names = client.data("{ applications { data { name } } }")["applications"]["data"]
            assert sorted(app["name"] for app in names) == ["elsewhere", "in-scenario"]
            assert _apps_for_runtime(client, runtime["id"]) == ["in-scenario"]
            definition = client.data('{ labelDefinition(key: "scenarios") { schema } }')
            assert SCENARIO in json.loads(definition["labelDefinition"]["schema"])["items"]["enum"]
        finally:
            client.close()
    first, second = (tmp_path / "first.log").read_text(), (tmp_path / "second.log").read_text()
    assert "Running upgrade" in first
    assert "Running upgrade" not in second
