"""Webhook notifications with real processes: `compass serve`, a real runtime
agent, and examples/webhook_receiver.py as the application's receiver, which
verifies every signature. A receiver that comes up late, a server killed
with SIGKILL before it could deliver, and two servers on one PostgreSQL
database delivering 200 events exactly once. Every wait is bounded."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook

from compass.db import create_engine
from tests.agent.agent_process import running_agent, wait_until
from tests.e2e.server import (
    LOOPBACK,
    AdminClient,
    Server,
    clean_env,
    free_port,
    mint_token,
    running_server,
)

ROOT = Path(__file__).resolve().parents[2]
RECEIVER = ROOT / "examples" / "webhook_receiver.py"
SETTINGS = {"COMPASS_EGRESS_ALLOWED_NETWORKS": "127.0.0.1/32", "COMPASS_OUTBOX_LEASE_SECONDS": "3"}
POSTGRES_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
WAIT = 60.0
EVENTS_URL = "https://gateway.agent.local"

REGISTER_APPLICATION = """mutation($name: String!) {
  registerApplication(in: {name: $name, labels: {scenarios: ["DEFAULT"]}}) { id } }"""
ADD_WEBHOOK = """mutation($app: ID!, $url: String!) {
  addWebhook(applicationID: $app, in: {type: CONFIGURATION_CHANGED, url: $url}) {
    id signingSecret } }"""
REGISTER_RUNTIME = """mutation($name: String!) {
  registerRuntime(in: {name: $name, labels: {scenarios: ["DEFAULT"]}}) { id } }"""
TOKEN = """mutation($id: ID!) { requestOneTimeTokenForRuntime(id: $id) { rawEncoded } }"""
SET_EVENT_URL = """mutation($id: ID!, $url: Any!) {
  setRuntimeLabel(runtimeID: $id, key: "runtime_eventServiceUrl", value: $url) { key } }"""
DELIVERIES = """query($id: ID!) { application(id: $id) { webhooks { deliveries {
  id eventType status attempts { httpStatus error } } } } }"""


# The receiver process


class Receiver:
    def __init__(self, process: subprocess.Popen[bytes], out: Path, log: Path) -> None:
        self.process = process
        self.out = out
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def received(out: Path) -> list[dict[str, Any]]:
    """What the receiver wrote: one line per verified request (duplicates marked)."""
    if not out.exists():
        return []
    lines = []
    for line in out.read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            break  # a line being written
    return lines


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1.0):
            return True
    except OSError:
        return False


@contextmanager
def running_receiver(secret: str, port: int, out: Path) -> Iterator[Receiver]:
    log = out.with_suffix(".log")
    command = [sys.executable, str(RECEIVER), "--secret", secret, "--port", str(port)]
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [*command, "--out", str(out)], stdout=sink, stderr=subprocess.STDOUT, env=clean_env()
        )
    receiver = Receiver(process, out, log)
    try:
        wait_until(
            lambda: process.poll() is None and _accepts(port),
            "the receiver to listen",
            receiver.output,
            timeout=15,
        )
        yield receiver
    finally:
        receiver.stop()


# Compass as an administrator sees it


def application_with_webhook(admin: AdminClient, name: str, port: int) -> tuple[str, str]:
    """An application of the DEFAULT scenario with a webhook to 127.0.0.1:port."""
    app_id = admin.data(REGISTER_APPLICATION, {"name": name})["registerApplication"]["id"]
    url = f"http://{LOOPBACK}:{port}/hook"
    webhook = admin.data(ADD_WEBHOOK, {"app": app_id, "url": url})["addWebhook"]
    return app_id, webhook["signingSecret"]


def deliveries(admin: AdminClient, app_id: str) -> list[dict[str, Any]]:
    [webhook] = admin.data(DELIVERIES, {"id": app_id})["application"]["webhooks"]
    return webhook["deliveries"]


def events_of(out: Path, event_type: str) -> list[dict[str, Any]]:
    return [line for line in received(out) if line["event"]["type"] == event_type]


def logs(*parts: Server | Receiver | Callable[[], str]) -> Callable[[], str]:
    return lambda: "\n".join(
        part() if callable(part) else f"--- {type(part).__name__} ---\n{part.output()}"
        for part in parts
    )


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "received.jsonl"


# The example receiver on its own


def test_example_receiver_verifies_signatures_and_deduplicates(out: Path) -> None:
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    port = free_port()
    body = json.dumps({"id": "e1", "type": "RUNTIME_CONNECTED"}, separators=(",", ":"))
    now = datetime.now(UTC)

    def headers(key: str, message_id: str) -> dict[str, str]:
        return {
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(key).sign(message_id, now, body),
        }

    with running_receiver(secret, port, out) as receiver, httpx.Client(timeout=5) as client:
        url = f"http://{LOOPBACK}:{port}/hook"
        assert client.post(url, content=body, headers=headers(secret, "m1")).status_code == 204
        assert client.post(url, content=body, headers=headers(secret, "m1")).status_code == 204
        wrong = "whsec_" + "C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
        assert client.post(url, content=body, headers=headers(wrong, "m2")).status_code == 401
        assert client.post(url, content=body).status_code == 401
        tampered = body.replace("e1", "e2")
        answer = client.post(url, content=tampered, headers=headers(secret, "m3"))
        assert answer.status_code == 401
    assert [(line["webhookID"], line["duplicate"]) for line in received(out)] == [
        ("m1", False),
        ("m1", True),
    ]
    printed = receiver.output().splitlines()
    assert printed.count('{"id": "e1", "type": "RUNTIME_CONNECTED"}') == 1


# One server on SQLite


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with running_server(tmp_path / "data", tmp_path / "serve.log", SETTINGS) as running:
        yield running
    assert "Traceback" not in running.output()


@pytest.fixture
def admin(server: Server) -> Iterator[AdminClient]:
    with AdminClient(server.base_url, mint_token(server.data_dir)) as client:
        yield client


def test_runtime_connected_by_the_real_agent_is_notified_once(
    server: Server, admin: AdminClient, tmp_path: Path, out: Path
) -> None:
    port = free_port()
    app_id, secret = application_with_webhook(admin, "shop", port)
    runtime_id = admin.data(REGISTER_RUNTIME, {"name": "cluster"})["registerRuntime"]["id"]
    raw = admin.data(TOKEN, {"id": runtime_id})["requestOneTimeTokenForRuntime"]["rawEncoded"]
    arguments = ["--raw-encoded", raw, "--runtime-id", runtime_id, "--events-url", EVENTS_URL]
    with ExitStack() as stack:
        receiver = stack.enter_context(running_receiver(secret, port, out))
        agent = stack.enter_context(
            running_agent(tmp_path / "agent-state", tmp_path / "agent.log", *arguments)
        )
        agent.extra_logs += [server.output, receiver.output]
        agent.wait_for(lambda s: s.get("state") == "connected", "the agent to connect")
        [connected] = wait_until(
            lambda: events_of(out, "RUNTIME_CONNECTED"),
            "the RUNTIME_CONNECTED notification",
            agent.output,
        )
        # Its report also set the event URL: wait for that one, then for nothing more.
        wait_until(
            lambda: events_of(out, "RUNTIME_EVENT_URL_CHANGED"),
            "the RUNTIME_EVENT_URL_CHANGED notification",
            agent.output,
        )
    event = connected["event"]
    assert event["applicationID"] == app_id
    assert event["runtime"] == {"id": runtime_id, "name": "cluster"}
    assert set(event) == {"id", "type", "time", "tenant", "applicationID", "runtime"}
    assert len(events_of(out, "RUNTIME_CONNECTED")) == 1
    assert not [line for line in received(out) if line["duplicate"]]
    by_id = {d["id"]: d for d in deliveries(admin, app_id)}
    assert by_id[connected["webhookID"]]["status"] == "SUCCEEDED"
    assert [d["eventType"] for d in by_id.values()].count("RUNTIME_CONNECTED") == 1


def test_notification_arrives_when_the_receiver_comes_up_later(
    server: Server, admin: AdminClient, out: Path
) -> None:
    port = free_port()
    app_id, secret = application_with_webhook(admin, "shop", port)
    runtime_id = admin.data(REGISTER_RUNTIME, {"name": "cluster"})["registerRuntime"]["id"]
    failed = wait_until(
        lambda: [d for d in deliveries(admin, app_id) if d["attempts"]],
        "a first attempt while the receiver is down",
        server.output,
    )
    assert failed[0]["status"] == "PENDING"
    assert failed[0]["attempts"][0]["httpStatus"] is None
    with running_receiver(secret, port, out) as receiver:
        [joined] = wait_until(
            lambda: events_of(out, "RUNTIME_JOINED_SCENARIO"),
            "the notification after the receiver came up",
            logs(server, receiver),
        )
        [delivery] = wait_until(
            lambda: [d for d in deliveries(admin, app_id) if d["status"] == "SUCCEEDED"],
            "the delivery to be SUCCEEDED",
            logs(server, receiver),
        )
    assert joined["event"]["runtime"]["id"] == runtime_id
    assert joined["webhookID"] == delivery["id"]
    assert delivery["attempts"][-1]["httpStatus"] == 204
    assert all(a["httpStatus"] is None for a in delivery["attempts"][:-1])
    assert len(received(out)) == 1


def test_notification_survives_a_server_killed_before_delivering(tmp_path: Path, out: Path) -> None:
    data_dir, port = tmp_path / "data", free_port()
    with running_server(data_dir, tmp_path / "serve.log", SETTINGS) as server:
        with AdminClient(server.base_url, mint_token(data_dir)) as admin:
            app_id, secret = application_with_webhook(admin, "shop", port)
            runtime_id = admin.data(REGISTER_RUNTIME, {"name": "cluster"})["registerRuntime"]["id"]
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
        ports = {"port": server.port, "mtls_port": server.mtls_port}
    with running_receiver(secret, port, out) as receiver:
        assert received(out) == []  # nobody left to deliver it
        with (
            running_server(data_dir, tmp_path / "again.log", SETTINGS, **ports) as again,
            AdminClient(again.base_url, mint_token(data_dir)) as admin,
        ):
            [joined] = wait_until(
                lambda: events_of(out, "RUNTIME_JOINED_SCENARIO"),
                "the notification after the restart",
                logs(again, receiver),
            )
            [delivery] = wait_until(
                lambda: [d for d in deliveries(admin, app_id) if d["status"] == "SUCCEEDED"],
                "the delivery to be SUCCEEDED",
                logs(again, receiver),
            )
    assert joined["event"]["runtime"]["id"] == runtime_id
    assert joined["webhookID"] == delivery["id"]
    assert [line["webhookID"] for line in received(out)] == [delivery["id"]]
    assert "Traceback" not in again.output()


# Two servers on one PostgreSQL database


def _postgres_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=2.0):
            return True
    except OSError:
        return False


async def _postgres(url: str, statement: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            result = await connection.execute(sa.text(statement))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        await engine.dispose()


def _all_succeeded(url: str) -> list[tuple[Any, ...]] | None:
    rows = asyncio.run(_postgres(url, "SELECT id, status FROM webhook_deliveries"))
    return rows if rows and all(status == "SUCCEEDED" for _, status in rows) else None


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh database beside `test`, dropped at the end."""
    if not _postgres_answers():
        pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432")
    name = f"compass_e2e_{uuid.uuid4().hex[:10]}"
    asyncio.run(_postgres(POSTGRES_ADMIN_URL, f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(_postgres(POSTGRES_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_two_servers_on_one_database_deliver_each_of_200_events_once(
    tmp_path: Path, out: Path, postgres_url: str
) -> None:
    changes = 200
    settings = {**SETTINGS, "COMPASS_DATABASE_URL": postgres_url}
    data_dir, port = tmp_path / "data", free_port()
    with ExitStack() as stack:
        # One after the other: the first migrates the database and creates the keys.
        first = stack.enter_context(running_server(data_dir, tmp_path / "a.log", settings))
        second = stack.enter_context(running_server(data_dir, tmp_path / "b.log", settings))
        token = mint_token(data_dir)
        admins = [stack.enter_context(AdminClient(s.base_url, token)) for s in (first, second)]
        app_id, secret = application_with_webhook(admins[0], "shop", port)
        receiver = stack.enter_context(running_receiver(secret, port, out))
        runtime_id = admins[1].data(REGISTER_RUNTIME, {"name": "cluster"})["registerRuntime"]["id"]
        for n in range(changes):
            admin = admins[n % 2]
            admin.data(SET_EVENT_URL, {"id": runtime_id, "url": f"https://gw{n}.example"})
        expected = changes + 1  # and the runtime joining the scenario
        wait_until(
            lambda: len({line["webhookID"] for line in received(out)}) >= expected,
            f"{expected} notifications",
            logs(first, second, receiver, lambda: f"received {len(received(out))}"),
            timeout=90,
        )
        rows = wait_until(
            lambda: _all_succeeded(postgres_url),
            "every delivery to be SUCCEEDED",
            logs(first, second),
            timeout=30,
        )
    lines = received(out)
    webhook_ids = [line["webhookID"] for line in lines]
    event_ids = [line["event"]["id"] for line in lines]
    assert len(rows) == expected
    assert sorted(webhook_ids) == sorted(row_id for row_id, _ in rows)  # none missing, none twice
    assert len(set(event_ids)) == len(event_ids) == expected
    assert not [line for line in lines if line["duplicate"]]
    types = [line["event"]["type"] for line in lines]
    assert types.count("RUNTIME_EVENT_URL_CHANGED") == changes
    assert types.count("RUNTIME_JOINED_SCENARIO") == 1
    assert all(line["event"]["runtime"]["id"] == runtime_id for line in lines)
    for server in (first, second):
        assert "Traceback" not in server.output()
