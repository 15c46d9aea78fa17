"""`compass agent run` as a real process, and bounded waits on what it writes.

Every wait polls with a deadline and fails with the agent's (and the server's)
log in the message; the process is always stopped by its PID."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from tests.e2e.server import clean_env

__all__ = ["Agent", "running_agent", "wait_until"]

WAIT_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
POLL = 0.2
T = TypeVar("T")


def wait_until(
    probe: Callable[[], T | None],
    what: str,
    logs: Callable[[], str],
    timeout: float = WAIT_TIMEOUT,
) -> T:
    """The first truthy value of `probe()`; fails after `timeout` with the logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(POLL)
    raise AssertionError(f"not within {timeout:.0f} s: {what}\n{logs()}")


class Agent:
    def __init__(self, process: subprocess.Popen[bytes], state_dir: Path, log: Path) -> None:
        self.process = process
        self.state_dir = state_dir
        self.log = log
        self.extra_logs: list[Callable[[], str]] = []

    def output(self) -> str:
        parts = ["--- agent log ---", self.log.read_text(errors="replace")]
        for extra in self.extra_logs:
            parts += ["--- other log ---", extra()]
        return "\n".join(parts)

    def status(self) -> dict[str, Any]:
        try:
            return json.loads((self.state_dir / "status.json").read_text())
        except (OSError, ValueError):
            return {}

    def applications(self) -> dict[str, dict[str, Any]]:
        folder = self.state_dir / "applications"
        if not folder.is_dir():
            return {}
        return {
            path.stem: json.loads(path.read_text())
            for path in folder.glob("*.json")
            if path.name != "index.json" and not path.name.startswith(".")
        }

    def wait_for(
        self, condition: Callable[[dict[str, Any]], bool], what: str, timeout: float = WAIT_TIMEOUT
    ) -> dict[str, Any]:
        """The first status for which `condition` holds; the agent must keep running."""

        def probe() -> dict[str, Any] | None:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the agent exited with {self.process.returncode}:\n{self.output()}"
                )
            current = self.status()
            return current if current and condition(current) else None

        return wait_until(probe, what, self.output, timeout)

    def wait_for_state(self, state: str, timeout: float = WAIT_TIMEOUT) -> dict[str, Any]:
        return self.wait_for(lambda s: s.get("state") == state, f"state {state}", timeout)

    def stop(self) -> int:
        """SIGTERM, then SIGKILL if it does not end in time; the exit status."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=STOP_TIMEOUT)
        return self.process.returncode


@contextmanager
def running_agent(state_dir: Path, log: Path, *arguments: str) -> Iterator[Agent]:
    command = [sys.executable, "-m", "compass.cli", "agent", "run", "--state-dir", str(state_dir)]
    command += ["--sync-interval", "1", "--log-level", "debug", *arguments]
    with log.open("ab") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, env=clean_env(), cwd=state_dir.parent
        )
    agent = Agent(process, state_dir, log)
    try:
        yield agent
    finally:
        agent.stop()
