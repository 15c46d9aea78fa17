"""`compass serve` as a real process on free loopback ports, and an administrator
client for it. Every wait is bounded; the process is always stopped by its PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "AdminClient",
    "Server",
    "clean_env",
    "compass_command",
    "free_port",
    "mint_token",
    "running_server",
]

LOOPBACK = "127.0.0.1"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
COMMAND_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def clean_env() -> dict[str, str]:
    """No COMPASS_* from the caller: the server uses SQLite in its data dir."""
    return {k: v for k, v in os.environ.items() if not k.startswith("COMPASS_")}


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1.0):
            return True
    except OSError:
        return False


class Server:
    def __init__(
        self,
        process: subprocess.Popen[bytes],
        port: int,
        mtls_port: int,
        data_dir: Path,
        log: Path,
    ) -> None:
        self.process = process
        self.port = port
        self.mtls_port = mtls_port
        self.data_dir = data_dir
        self.log = log
        self.base_url = f"http://{LOOPBACK}:{port}"
        self.mtls_url = f"https://{LOOPBACK}:{mtls_port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> None:
        """Ready: /readyz answers 200 and the mutual-TLS port accepts connections."""
        deadline = time.monotonic() + READY_TIMEOUT
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(
                        f"compass serve exited with {self.process.returncode}:\n{self.output()}"
                    )
                try:
                    if client.get("/readyz").status_code == 200 and _accepts(self.mtls_port):
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
def running_server(
    data_dir: Path,
    log: Path,
    settings: dict[str, str] | None = None,
    port: int | None = None,
    mtls_port: int | None = None,
) -> Iterator[Server]:
    """`settings`: extra COMPASS_* environment variables for the server;
    `port`, `mtls_port`: fixed ports (to restart a server where clients know it),
    free ones otherwise."""
    port = port or free_port()
    if mtls_port is None:
        mtls_port = free_port()
        while mtls_port == port:
            mtls_port = free_port()
    command = [sys.executable, "-m", "compass.cli", "serve", "--host", LOOPBACK]
    command += ["--port", str(port), "--mtls-port", str(mtls_port), "--data-dir", str(data_dir)]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, env={**clean_env(), **(settings or {})}
        )
    server = Server(process, port, mtls_port, data_dir, log)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def compass_command(*arguments: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "compass.cli", *arguments],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        env=clean_env(),
    )
    assert result.returncode == 0, result.stderr
    return result


def mint_token(data_dir: Path) -> str:
    """An administrator token from `compass token` (its last line)."""
    return compass_command("token", "--data-dir", str(data_dir)).stdout.strip().splitlines()[-1]


class AdminClient:
    """GraphQL on the public listener with an administrator's bearer token."""

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

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
