"""The runtime flow with real processes: `compass serve`, the local provider's
supervised `compass agent`, and the command provider's executable. Every
wait is bounded; every agent the server started is stopped by its PID at the
end, even after the server itself was killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agent.agent_process import running_agent, wait_until
from tests.e2e.server import AdminClient, Server, clean_env, mint_token, running_server
from tests.provisioner.command_script import RecordingCommand

PROVISION = """mutation($config: ProvisionRuntimeInput!) {
  provisionRuntime(config: $config) { id state runtimeID } }"""
OPERATION = """query($id: String!) { runtimeOperationStatus(id: $id) { state message } }"""
STATUS = """query($id: String!) { runtimeStatus(id: $id) {
  condition runtimeConnectionStatus { status } lastOperationStatus { operation state } } }"""
RUNTIME = "query($id: ID!) { runtime(id: $id) { status { condition } labels auths { id } } }"
REGISTER_APPLICATION = """mutation($name: String!) {
  registerApplication(in: {name: $name, labels: {scenarios: ["DEFAULT"]}}) { id } }"""
SCENARIOS = """mutation($in: LabelDefinitionInput!) { updateLabelDefinition(in: $in) { key } }"""
MOVE = """mutation($id: ID!) {
  setApplicationLabel(applicationID: $id, key: "scenarios", value: ["OTHER"]) { key } }"""
DELETE_AUTH = "mutation($id: ID!) { deleteSystemAuthForRuntime(authID: $id) { id } }"
SUPERVISION = {"COMPASS_SUPERVISOR_LEASE_SECONDS": "2"}


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class Runtimes:
    """The runtime directories of a data dir, and the agents running for them."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "runtimes"

    def directory(self, runtime_id: str) -> Path:
        return self.root / runtime_id

    def status(self, runtime_id: str) -> dict[str, Any]:
        try:
            return json.loads((self.directory(runtime_id) / "state" / "status.json").read_text())
        except (OSError, ValueError):
            return {}

    def agent_pids(self, runtime_id: str) -> list[int]:
        """Processes whose command line names this runtime's agent configuration."""
        config = str(self.directory(runtime_id) / "agent.json").encode()
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if config in (entry / "cmdline").read_bytes() and _alive(int(entry.name)):
                        found.append(int(entry.name))
                except OSError:
                    continue
        return found

    def stop_all(self) -> None:
        if not self.root.is_dir():
            return
        for directory in self.root.iterdir():
            for pid in self.agent_pids(directory.name):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "data"
    yield directory
    Runtimes(directory).stop_all()


def _logs(server: Server, runtimes: Runtimes, runtime_id: str | None = None) -> str:
    text = f"--- server ---\n{server.output()}"
    log = runtimes.directory(runtime_id) / "agent.log" if runtime_id else None
    if log is not None and log.exists():
        text += f"\n--- agent ---\n{log.read_text(errors='replace')}"
    return text


def _provision(admin: AdminClient, name: str, **cluster: Any) -> tuple[str, str]:
    config: dict[str, Any] = {"runtimeInput": {"name": name, "labels": {"scenarios": ["DEFAULT"]}}}
    config["clusterConfig"] = cluster or {"localConfig": {"syncIntervalSeconds": 1}}
    started = admin.data(PROVISION, {"config": config})["provisionRuntime"]
    return started["id"], started["runtimeID"]


def _settled(admin: AdminClient, operation_id: str, logs: Any, timeout: float = 60) -> dict:
    def probe() -> dict | None:
        found = admin.data(OPERATION, {"id": operation_id})["runtimeOperationStatus"]
        return found if found["state"] in ("Succeeded", "Failed") else None

    return wait_until(probe, f"operation {operation_id} to end", logs, timeout)


def _provisioned(admin: AdminClient, server: Server, runtimes: Runtimes, name: str) -> str:
    operation_id, runtime_id = _provision(admin, name)
    done = _settled(admin, operation_id, lambda: _logs(server, runtimes, runtime_id))
    assert done["state"] == "Succeeded", (done, _logs(server, runtimes, runtime_id))
    return runtime_id


def _application_file(runtimes: Runtimes, runtime_id: str, application_id: str) -> Path:
    return runtimes.directory(runtime_id) / "state" / "applications" / f"{application_id}.json"


def test_local_runtime_is_provisioned_syncs_and_is_deprovisioned(data_dir: Path) -> None:
    runtimes = Runtimes(data_dir)
    with (
        running_server(data_dir, data_dir.parent / "serve.log") as server,
        AdminClient(server.base_url, mint_token(data_dir)) as admin,
    ):
        runtime_id = _provisioned(admin, server, runtimes, "local-one")
        logs = lambda: _logs(server, runtimes, runtime_id)  # noqa: E731
        runtime = admin.data(RUNTIME, {"id": runtime_id})["runtime"]
        assert runtime["status"]["condition"] == "CONNECTED"
        assert runtime["labels"]["runtime_eventServiceUrl"] == "https://gateway.local-one.local"
        assert runtime["labels"]["runtime_consoleUrl"] == "https://console.local-one.local"
        status = admin.data(STATUS, {"id": runtime_id})["runtimeStatus"]
        assert status["runtimeConnectionStatus"]["status"] == "Connected"
        [pid] = runtimes.agent_pids(runtime_id)

        app_id = admin.data(REGISTER_APPLICATION, {"name": "shop"})["registerApplication"]["id"]
        wait_until(
            lambda: _application_file(runtimes, runtime_id, app_id).exists(),
            "the application in the agent's state directory",
            logs,
        )
        schema = {
            "type": "array",
            "uniqueItems": True,
            "items": {"type": "string", "enum": ["DEFAULT", "OTHER"]},
        }
        admin.data(SCENARIOS, {"in": {"key": "scenarios", "schema": json.dumps(schema)}})
        admin.data(MOVE, {"id": app_id})
        wait_until(
            lambda: not _application_file(runtimes, runtime_id, app_id).exists(),
            "the application to leave the agent's state directory",
            logs,
        )
        shown = subprocess.run(
            [
                sys.executable,
                "-m",
                "compass.cli",
                "agent",
                "status",
                "--state-dir",
                str(runtimes.directory(runtime_id) / "state"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(),
        )
        assert shown.returncode == 0, shown.stderr
        assert "connected" in shown.stdout

        operation_id = admin.data(
            "mutation($id: String!) { deprovisionRuntime(id: $id) }", {"id": runtime_id}
        )["deprovisionRuntime"]
        assert _settled(admin, operation_id, logs)["state"] == "Succeeded"
        assert not _alive(pid)
        assert admin.data(RUNTIME, {"id": runtime_id})["runtime"] is None
        assert not runtimes.directory(runtime_id).exists()
    assert "Traceback" not in server.output()


def test_supervisor_restarts_a_killed_agent_and_shutdown_stops_it(data_dir: Path) -> None:
    runtimes = Runtimes(data_dir)
    with (
        running_server(data_dir, data_dir.parent / "serve.log") as server,
        AdminClient(server.base_url, mint_token(data_dir)) as admin,
    ):
        runtime_id = _provisioned(admin, server, runtimes, "restarted")
        [first] = runtimes.agent_pids(runtime_id)
        os.kill(first, signal.SIGKILL)
        [second] = wait_until(
            lambda: [p for p in runtimes.agent_pids(runtime_id) if p != first] or None,
            "the supervisor to start the agent again",
            lambda: _logs(server, runtimes, runtime_id),
        )
        wait_until(
            lambda: (
                runtimes.status(runtime_id).get("pid") == second
                and runtimes.status(runtime_id).get("state") == "connected"
            ),
            "the restarted agent to connect with its stored certificate",
            lambda: _logs(server, runtimes, runtime_id),
        )
        assert len(admin.data(RUNTIME, {"id": runtime_id})["runtime"]["auths"]) == 1
    assert not _alive(second)  # the server's shutdown stopped it


def test_revoked_agent_reconnects_with_a_token_from_reconnect_runtime_agent(
    data_dir: Path,
) -> None:
    runtimes = Runtimes(data_dir)
    with (
        running_server(data_dir, data_dir.parent / "serve.log") as server,
        AdminClient(server.base_url, mint_token(data_dir)) as admin,
    ):
        runtime_id = _provisioned(admin, server, runtimes, "revoked")
        logs = lambda: _logs(server, runtimes, runtime_id)  # noqa: E731
        [auth] = admin.data(RUNTIME, {"id": runtime_id})["runtime"]["auths"]
        admin.data(DELETE_AUTH, {"id": auth["id"]})
        wait_until(
            lambda: runtimes.status(runtime_id).get("state") == "refused",
            "the agent to notice its certificate is refused",
            logs,
        )
        operation_id = admin.data(
            "mutation($id: String!) { reconnectRuntimeAgent(id: $id) }", {"id": runtime_id}
        )["reconnectRuntimeAgent"]
        assert _settled(admin, operation_id, logs)["state"] == "Succeeded"
        wait_until(
            lambda: runtimes.status(runtime_id).get("state") == "connected",
            "the agent to pair again with the new token",
            logs,
        )
        [new_auth] = admin.data(RUNTIME, {"id": runtime_id})["runtime"]["auths"]
        assert new_auth["id"] != auth["id"]


def test_killed_server_adopts_its_running_agent_after_restart(data_dir: Path) -> None:
    runtimes = Runtimes(data_dir)
    log = data_dir.parent / "serve.log"
    with (
        running_server(data_dir, log, SUPERVISION) as server,
        AdminClient(server.base_url, mint_token(data_dir)) as admin,
    ):
        runtime_id = _provisioned(admin, server, runtimes, "adopted")
        [pid] = runtimes.agent_pids(runtime_id)
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
        ports = {"port": server.port, "mtls_port": server.mtls_port}
    assert _alive(pid)  # agents outlive a crash of their server
    with running_server(data_dir, data_dir.parent / "again.log", SUPERVISION, **ports) as again:
        with AdminClient(again.base_url, mint_token(data_dir)) as admin:
            wait_until(
                lambda: "adopted its running agent" in again.output(),
                "the new server to adopt the agent",
                lambda: _logs(again, runtimes, runtime_id),
            )
            assert runtimes.agent_pids(runtime_id) == [pid]
            status = admin.data(STATUS, {"id": runtime_id})["runtimeStatus"]
            assert status["lastOperationStatus"]["state"] == "Succeeded"
    assert not _alive(pid)


def test_server_killed_mid_operation_resumes_it_after_restart(data_dir: Path) -> None:
    command = RecordingCommand(data_dir.parent / "command")
    settings = {
        "COMPASS_PROVISIONER_COMMAND": str(command.path),
        "COMPASS_PROVISIONER_COMMAND_TIMEOUT": "5",
        "COMPASS_OUTBOX_LEASE_SECONDS": "5",
    }
    runtimes = Runtimes(data_dir)
    log = data_dir.parent / "serve.log"
    with (
        running_server(data_dir, log, settings) as server,
        AdminClient(server.base_url, mint_token(data_dir)) as admin,
    ):
        operation_id, runtime_id = _provision(admin, "resumed", commandConfig={})

        def waiting() -> bool:
            found = admin.data(OPERATION, {"id": operation_id})["runtimeOperationStatus"]
            return "waiting for the runtime agent" in (found["message"] or "")

        wait_until(waiting, "provisioning to wait for the agent", server.output)
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
        ports = {"port": server.port, "mtls_port": server.mtls_port}
    [request] = command.requests("provision")
    with running_server(data_dir, data_dir.parent / "again.log", settings, **ports) as again:
        with (
            AdminClient(again.base_url, mint_token(data_dir)) as admin,
            running_agent(
                data_dir.parent / "agent-state",
                data_dir.parent / "agent.log",
                "--raw-encoded",
                request["rawEncoded"],
                "--runtime-id",
                runtime_id,
            ) as agent,
        ):
            done = _settled(admin, operation_id, lambda: agent.output() + again.output(), 90)
            assert done["state"] == "Succeeded", done
            status = admin.data(STATUS, {"id": runtime_id})["runtimeStatus"]
            assert status["condition"] == "CONNECTED"
    assert runtimes.root.exists() is False  # the command provider keeps nothing locally
