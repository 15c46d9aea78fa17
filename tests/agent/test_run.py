"""`compass agent run` against a real `compass serve`: pairing, reporting, sync,
credentials asked for in instance-auths.json, renewal, revocation followed by a
new token, and a server that goes away and comes back. Real processes, real
TLS; every wait is bounded."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from tests.agent.agent_process import Agent, running_agent, wait_until
from tests.e2e.server import AdminClient, Server, clean_env, mint_token, running_server

EVENTS_URL = "https://gateway.agent.local"
CONSOLE_URL = "https://console.agent.local"
REGISTER_RUNTIME = """mutation($name: String!) {
  registerRuntime(in: {name: $name, labels: {scenarios: ["DEFAULT"]}}) { id } }"""
REGISTER_APPLICATION = """mutation($name: String!) {
  registerApplication(in: {name: $name, labels: {scenarios: ["DEFAULT"]}}) { id } }"""
TOKEN = """mutation($id: ID!) { requestOneTimeTokenForRuntime(id: $id) {
  token connectorURL rawEncoded } }"""
RUNTIME = "query($id: ID!) { runtime(id: $id) { status { condition } labels auths { id } } }"
SCENARIOS = """mutation($in: LabelDefinitionInput!) { updateLabelDefinition(in: $in) { key } }"""
MOVE = """mutation($id: ID!) {
  setApplicationLabel(applicationID: $id, key: "scenarios", value: ["OTHER"]) { key } }"""
DELETE_AUTH = "mutation($id: ID!) { deleteSystemAuthForRuntime(authID: $id) { id } }"
ADD_BUNDLE = """mutation($app: ID!, $in: BundleCreateInput!) {
  addBundle(applicationID: $app, in: $in) { id } }"""
SET_INSTANCE_AUTH = """mutation($id: ID!, $in: BundleInstanceAuthSetInput!) {
  setBundleInstanceAuth(authID: $id, in: $in) { id status { condition } } }"""
INSTANCE_AUTH = """query($app: ID!, $bundle: ID!, $id: ID!) { application(id: $app) {
  bundle(id: $bundle) { instanceAuth(id: $id) { id status { condition } } } } }"""
PARAMS_SCHEMA = {
    "type": "object",
    "properties": {"namespace": {"type": "string"}},
    "required": ["namespace"],
}
HOOK = "import pathlib, sys; pathlib.Path(sys.argv[1]).open('a').write(sys.argv[2] + '\\n')"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("agent-server")
    with running_server(directory / "data", directory / "serve.log") as running:
        yield running
    assert "Traceback" not in running.output()


@pytest.fixture(scope="module")
def admin(server: Server) -> Iterator[AdminClient]:
    with AdminClient(server.base_url, mint_token(server.data_dir)) as client:
        yield client


def _runtime(admin: AdminClient, name: str) -> str:
    return admin.data(REGISTER_RUNTIME, {"name": name})["registerRuntime"]["id"]


def _application(admin: AdminClient, name: str) -> str:
    return admin.data(REGISTER_APPLICATION, {"name": name})["registerApplication"]["id"]


def _token(admin: AdminClient, runtime_id: str) -> dict[str, Any]:
    return admin.data(TOKEN, {"id": runtime_id})["requestOneTimeTokenForRuntime"]


def _runtime_state(admin: AdminClient, runtime_id: str) -> dict[str, Any]:
    return admin.data(RUNTIME, {"id": runtime_id})["runtime"]


def _serial(state_dir: Path) -> int:
    return x509.load_pem_x509_certificate((state_dir / "cert.pem").read_bytes()).serial_number


def _write_config(path: Path, token: dict[str, Any], runtime_id: str) -> None:
    """As the provisioner does: the whole file, replaced atomically."""
    content = {
        "connector_url": token["connectorURL"],
        "token": token["token"],
        "raw_encoded": None,
        "runtime_id": runtime_id,
        "tenant": None,
        "sync_interval": 1,
        "events_url": EVENTS_URL,
        "console_url": CONSOLE_URL,
        "hook": None,
        "renew_fraction": 0.3333,
    }
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(content))
    os.replace(temporary, path)


def _logs(*parts: Agent | Server) -> str:
    return "\n".join(part.output() for part in parts)


def _connected_with(count: int) -> Any:
    return lambda s: s.get("state") == "connected" and s.get("applications") == count


def test_agent_pairs_reports_syncs_and_reuses_its_certificate(
    server: Server, admin: AdminClient, tmp_path: Path
) -> None:
    admin.data(
        SCENARIOS,
        {
            "in": {
                "key": "scenarios",
                "schema": json.dumps(
                    {
                        "type": "array",
                        "minItems": 1,
                        "uniqueItems": True,
                        "items": {"type": "string", "enum": ["DEFAULT", "OTHER"]},
                    }
                ),
            }
        },
    )
    runtime_id = _runtime(admin, "cluster-by-hand")
    application_id = _application(admin, "shop")
    token = _token(admin, runtime_id)
    state_dir, log, marker = tmp_path / "state", tmp_path / "agent.log", tmp_path / "hook.txt"
    (tmp_path / "hook.py").write_text(HOOK)
    hook = f"{sys.executable} {tmp_path / 'hook.py'} {marker}"
    arguments = ["--raw-encoded", token["rawEncoded"], "--runtime-id", runtime_id]
    arguments += ["--events-url", EVENTS_URL, "--console-url", CONSOLE_URL, "--hook", hook]

    with running_agent(state_dir, log, *arguments) as agent:
        agent.extra_logs.append(server.output)
        first = agent.wait_for(_connected_with(1), "connected with one application")
        assert first["runtime_id"] == runtime_id and first["last_sync_result"] == "ok"
        stored = agent.applications()[application_id]
        assert stored["name"] == "shop" and stored["labels"]["scenarios"] == ["DEFAULT"]
        runtime = _runtime_state(admin, runtime_id)
        assert runtime["status"]["condition"] == "CONNECTED"
        assert runtime["labels"]["runtime_eventServiceUrl"] == EVENTS_URL
        assert runtime["labels"]["runtime_consoleUrl"] == CONSOLE_URL
        assert runtime["labels"]["scenarios"] == ["DEFAULT"]
        assert len(runtime["auths"]) == 1

        shown = subprocess.run(
            [sys.executable, "-m", "compass.cli", "agent", "status", "--state-dir", str(state_dir)],
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(),
        )
        assert shown.returncode == 0, shown.stderr
        assert "state: connected" in shown.stdout.splitlines()
        assert "applications: 1" in shown.stdout.splitlines()

        admin.data(MOVE, {"id": application_id})
        agent.wait_for(_connected_with(0), "the application leaving the scenario")
        assert not (state_dir / "applications" / f"{application_id}.json").exists()
        wait_until(
            lambda: len(marker.read_text().splitlines()) >= 2 if marker.exists() else None,
            "the hook run for the addition and the removal",
            agent.output,
        )
        assert set(marker.read_text().splitlines()) == {str(state_dir)}
    assert agent.process.returncode == 0, agent.output()

    output = log.read_text()
    assert f"application added: {application_id} shop" in output
    assert f"application removed: {application_id} shop" in output
    assert token["token"] not in output and token["rawEncoded"] not in output
    assert stat.S_IMODE((state_dir / "key.pem").stat().st_mode) == 0o600
    token_record = json.loads((state_dir / "token.json").read_text())
    assert token["token"] not in json.dumps(token_record) and len(token_record["sha256"]) == 64
    assert set(json.loads((state_dir / "urls.json").read_text())) == {
        "directorURL",
        "certificateSecuredConnectorURL",
    }
    serial = _serial(state_dir)

    # Restarted without any token: the stored certificate is enough.
    with running_agent(state_dir, log, "--runtime-id", runtime_id) as again:
        again.extra_logs.append(server.output)
        again.wait_for(
            lambda s: _connected_with(0)(s) and s["pid"] == again.process.pid,
            "connected again with the stored certificate",
        )
    assert again.process.returncode == 0, again.output()
    assert "reusing the stored certificate" in log.read_text()
    assert _serial(state_dir) == serial
    assert len(_runtime_state(admin, runtime_id)["auths"]) == 1


def _basic(username: str, password: str) -> dict[str, Any]:
    return {"credential": {"basic": {"username": username, "password": password}}}


def _bundle(admin: AdminClient, application_id: str, **fields: Any) -> str:
    added = admin.data(ADD_BUNDLE, {"app": application_id, "in": fields})
    return added["addBundle"]["id"]


def _write_instance_auths(state_dir: Path, *entries: dict[str, Any]) -> None:
    """As an operator should: the whole file, replaced atomically."""
    temporary = state_dir / ".instance-auths.json.tmp"
    temporary.write_text(json.dumps({"instances": list(entries)}))
    os.replace(temporary, state_dir / "instance-auths.json")


def _stored_auths(agent: Agent, application_id: str, bundle_id: str) -> list[dict[str, Any]]:
    """The instance auths of one bundle in the agent's file of the application."""
    application = agent.applications().get(application_id) or {}
    for bundle in (application.get("bundles") or {}).get("data") or []:
        if bundle["id"] == bundle_id:
            return bundle.get("instanceAuths") or []
    return []


def _entry(entry_id: str, condition: str) -> Any:
    def holds(status: dict[str, Any]) -> bool:
        entry = (status.get("instance_auths") or {}).get(entry_id) or {}
        return entry.get("condition") == condition and entry.get("auth_id") is not None

    return holds


def test_agent_asks_for_the_credentials_listed_in_its_file(
    server: Server, admin: AdminClient, tmp_path: Path
) -> None:
    runtime_id = _runtime(admin, "cluster-credentials")
    application_id = _application(admin, "billing")
    payments = _bundle(
        admin,
        application_id,
        name="payments",
        instanceAuthRequestInputSchema=json.dumps(PARAMS_SCHEMA),
    )
    reports = _bundle(
        admin, application_id, name="reports", defaultInstanceAuth=_basic("reader", "default-Pa55")
    )
    token = _token(admin, runtime_id)
    state_dir, log = tmp_path / "state", tmp_path / "agent.log"
    arguments = ["--raw-encoded", token["rawEncoded"], "--runtime-id", runtime_id]
    payments_entry = {
        "id": "payments-1",
        "bundleID": payments,
        "context": {"service": "payments-1"},
        "inputParams": {"namespace": "prod"},
    }
    reports_entry = {"id": "reports-1", "bundleID": reports}

    with running_agent(state_dir, log, *arguments) as agent:
        agent.extra_logs.append(server.output)
        agent.wait_for(
            lambda s: s.get("state") == "connected" and application_id in agent.applications(),
            "connected with the application",
        )
        assert _stored_auths(agent, application_id, payments) == []

        # Requested: PENDING until the application answers.
        _write_instance_auths(state_dir, payments_entry)
        status = agent.wait_for(_entry("payments-1", "PENDING"), "a PENDING request")
        auth_id = status["instance_auths"]["payments-1"]["auth_id"]
        assert status["instance_auths"]["payments-1"]["application_id"] == application_id
        (pending,) = wait_until(
            lambda: _stored_auths(agent, application_id, payments),
            "the PENDING instance auth in the application's file",
            agent.output,
        )
        assert pending["id"] == auth_id and pending["status"]["condition"] == "PENDING"
        assert pending["runtimeID"] == runtime_id and pending["auth"] is None
        assert json.loads(pending["inputParams"]) == {"namespace": "prod"}
        assert json.loads(pending["context"]) == {"service": "payments-1"}
        ledger = json.loads((state_dir / "instance-auths.state.json").read_text())
        assert ledger["instances"]["payments-1"]["authID"] == auth_id

        # The application (here an administrator) answers with credentials.
        admin.data(SET_INSTANCE_AUTH, {"id": auth_id, "in": {"auth": _basic("svc", "s3cret-Pa55")}})
        agent.wait_for(_entry("payments-1", "SUCCEEDED"), "SUCCEEDED in the status")
        (issued,) = wait_until(
            lambda: [
                a
                for a in _stored_auths(agent, application_id, payments)
                if a["status"]["condition"] == "SUCCEEDED"
            ],
            "the credentials in the application's file",
            agent.output,
        )
        assert issued["auth"]["credential"] == {"username": "svc", "password": "s3cret-Pa55"}
        app_file = state_dir / "applications" / f"{application_id}.json"
        assert stat.S_IMODE(app_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(app_file.parent.stat().st_mode) == 0o700

        # A bundle with a default: SUCCEEDED at once.
        _write_instance_auths(state_dir, payments_entry, reports_entry)
        agent.wait_for(_entry("reports-1", "SUCCEEDED"), "the default credentials")
        (default,) = wait_until(
            lambda: _stored_auths(agent, application_id, reports),
            "the default credentials in the application's file",
            agent.output,
        )
        assert default["status"]["condition"] == "SUCCEEDED"
        assert default["auth"]["credential"] == {"username": "reader", "password": "default-Pa55"}

        shown = subprocess.run(
            [sys.executable, "-m", "compass.cli", "agent", "status", "--state-dir", str(state_dir)],
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(),
        )
        assert shown.returncode == 0, shown.stderr
        lines = shown.stdout.splitlines()
        assert f"instance auth payments-1: SUCCEEDED (auth {auth_id}, bundle {payments})" in lines
        assert any(line.startswith("instance auth reports-1: SUCCEEDED") for line in lines)

        # Removed from the file: given back (UNUSED, until the application deletes it).
        _write_instance_auths(state_dir, reports_entry)
        agent.wait_for(
            lambda s: "payments-1" not in (s.get("instance_auths") or {}),
            "the removed entry forgotten",
        )
        wait_until(
            lambda: all(
                a["status"]["condition"] == "UNUSED"
                for a in _stored_auths(agent, application_id, payments)
            ),
            "the given back instance auth UNUSED (or gone) in the application's file",
            agent.output,
        )
        variables = {"app": application_id, "bundle": payments, "id": auth_id}
        seen = admin.data(INSTANCE_AUTH, variables)["application"]["bundle"]["instanceAuth"]
        assert seen is None or seen["status"]["condition"] == "UNUSED"
        ledger = json.loads((state_dir / "instance-auths.state.json").read_text())
        assert list(ledger["instances"]) == ["reports-1"] and ledger["releasing"] == []
    assert agent.process.returncode == 0, agent.output()

    output = log.read_text()
    assert f"application updated: {application_id} billing (instance auths)" in output
    assert "s3cret-Pa55" not in output and "default-Pa55" not in output


def test_revoked_agent_waits_for_a_new_token_and_pairs_again(
    server: Server, admin: AdminClient, tmp_path: Path
) -> None:
    runtime_id = _runtime(admin, "cluster-revoked")
    config, state_dir = tmp_path / "agent.json", tmp_path / "state"
    _write_config(config, _token(admin, runtime_id), runtime_id)

    with running_agent(state_dir, tmp_path / "agent.log", "--config", str(config)) as agent:
        agent.extra_logs.append(server.output)
        agent.wait_for_state("connected")
        serial, used = _serial(state_dir), (state_dir / "token.json").read_text()
        (auth,) = _runtime_state(admin, runtime_id)["auths"]
        admin.data(DELETE_AUTH, {"id": auth["id"]})

        refused = agent.wait_for_state("refused")
        assert refused["last_error"]
        assert _serial(state_dir) == serial  # kept until a new pair replaces it

        _write_config(config, _token(admin, runtime_id), runtime_id)
        agent.wait_for(
            lambda s: s.get("state") == "connected" and _serial(state_dir) != serial,
            "connected again with a new certificate",
        )
        assert (state_dir / "token.json").read_text() != used
        (new_auth,) = _runtime_state(admin, runtime_id)["auths"]
        assert new_auth["id"] != auth["id"]
    assert agent.process.returncode == 0, agent.output()
    assert "refused" in (tmp_path / "agent.log").read_text()


def test_agent_renews_a_short_lived_certificate(tmp_path: Path) -> None:
    settings = {"COMPASS_CLIENT_CERTIFICATE_VALIDITY_DAYS": "0.0003"}  # about 26 s
    with running_server(tmp_path / "data", tmp_path / "serve.log", settings) as server:
        with AdminClient(server.base_url, mint_token(server.data_dir)) as admin:
            runtime_id = _runtime(admin, "cluster-renewing")
            token = _token(admin, runtime_id)
        state_dir = tmp_path / "state"
        arguments = ["--raw-encoded", token["rawEncoded"], "--runtime-id", runtime_id]
        with running_agent(state_dir, tmp_path / "agent.log", *arguments) as agent:
            agent.extra_logs.append(server.output)
            first = agent.wait_for_state("connected")
            serial, key = _serial(state_dir), (state_dir / "key.pem").read_bytes()
            first_expiry = datetime.fromisoformat(first["certificate_expires_at"])

            wait_until(lambda: _serial(state_dir) != serial, "a renewed certificate", agent.output)
            assert (state_dir / "key.pem").read_bytes() != key
            # Syncs go on past the first certificate's end: the new pair is in use.
            agent.wait_for(
                lambda s: (
                    s.get("last_sync_result") == "ok"
                    and datetime.fromisoformat(s["last_sync_at"]) > first_expiry
                    and datetime.fromisoformat(s["certificate_expires_at"]) > first_expiry
                ),
                "a sync with the renewed certificate after the first one expired",
            )
        assert agent.process.returncode == 0, agent.output()
        assert "renewed: certificate" in agent.log.read_text()


def test_agent_survives_the_server_going_away(tmp_path: Path) -> None:
    data_dir, state_dir, config = tmp_path / "data", tmp_path / "state", tmp_path / "agent.json"
    with ExitStack() as stack:
        server = stack.enter_context(running_server(data_dir, tmp_path / "serve-1.log"))
        with AdminClient(server.base_url, mint_token(data_dir)) as admin:
            runtime_id = _runtime(admin, "cluster-outage")
            application_id = _application(admin, "orders")
            _write_config(config, _token(admin, runtime_id), runtime_id)
        arguments = ["--config", str(config), "--max-backoff", "2"]
        agent = stack.enter_context(running_agent(state_dir, tmp_path / "agent.log", *arguments))
        agent.extra_logs.append(server.output)
        agent.wait_for(_connected_with(1), "connected before the outage")
        stored_file = state_dir / "applications" / f"{application_id}.json"
        stored = stored_file.read_bytes()

        server.stop()
        unreachable = agent.wait_for(
            lambda s: s.get("state") == "unreachable" and s.get("last_error"), "unreachable"
        )
        assert stored_file.read_bytes() == stored

        ports = {"port": server.port, "mtls_port": server.mtls_port}
        again = stack.enter_context(running_server(data_dir, tmp_path / "serve-2.log", **ports))
        agent.extra_logs.append(again.output)
        agent.wait_for(
            lambda s: (
                _connected_with(1)(s)
                and s.get("last_sync_result") == "ok"
                and s.get("last_sync_at", "") > unreachable.get("last_sync_at", "")
            ),
            "connected and synced after the outage",
        )
        assert stored_file.read_bytes() == stored
        assert agent.stop() == 0, agent.output()


def _subscribed(state: str) -> Any:
    return lambda s: s.get("state") == "connected" and s.get("subscription") == state


def test_agent_subscription_brings_changes_long_before_the_poll(tmp_path: Path) -> None:
    """With a 300 s sync interval only the subscription can explain an update
    within seconds; it comes back after the server restarts on the same ports."""
    data_dir, state_dir, log = tmp_path / "data", tmp_path / "state", tmp_path / "agent.log"
    with ExitStack() as stack:
        server = stack.enter_context(running_server(data_dir, tmp_path / "serve-1.log"))
        admin = stack.enter_context(AdminClient(server.base_url, mint_token(data_dir)))
        runtime_id = _runtime(admin, "cluster-live")
        token = _token(admin, runtime_id)
        arguments = ["--raw-encoded", token["rawEncoded"], "--runtime-id", runtime_id]
        arguments += ["--sync-interval", "300", "--max-backoff", "2"]
        agent = stack.enter_context(running_agent(state_dir, log, *arguments))
        agent.extra_logs.append(server.output)
        agent.wait_for(_subscribed("active"), "connected with the subscription active")

        first = _application(admin, "live-shop")
        started = time.monotonic()
        wait_until(lambda: first in agent.applications(), "the first application", agent.output, 30)
        print(f"\nfirst application in the state dir after {time.monotonic() - started:.2f} s")
        shown = subprocess.run(
            [sys.executable, "-m", "compass.cli", "agent", "status", "--state-dir", str(state_dir)],
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(),
        )
        assert shown.returncode == 0, shown.stderr
        assert "subscription: active" in shown.stdout.splitlines()

        server.stop()
        agent.wait_for(
            lambda s: s.get("subscription") == "reconnecting", "reconnecting", timeout=30
        )
        ports = {"port": server.port, "mtls_port": server.mtls_port}
        again = stack.enter_context(running_server(data_dir, tmp_path / "serve-2.log", **ports))
        agent.extra_logs.append(again.output)
        agent.wait_for(_subscribed("active"), "the subscription active again", timeout=30)

        second = _application(admin, "live-orders")
        started = time.monotonic()
        wait_until(
            lambda: second in agent.applications(), "the second application", agent.output, 30
        )
        print(f"second application after the restart in {time.monotonic() - started:.2f} s")
        assert agent.stop() == 0, agent.output()
    output = log.read_text()
    assert "subscription active" in output and "subscription reconnecting" in output
