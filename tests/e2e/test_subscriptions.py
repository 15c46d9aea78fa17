"""Live subscriptions against real `compass serve` processes, with a python
`websockets` client speaking graphql-transport-ws: an administrator's JWT in
`connection_init` on one server (SQLite); two servers on one PostgreSQL, where
a change made on one reaches a subscriber of the other (LISTEN/NOTIFY); and a
runtime's own certificate over mutual TLS, which may subscribe to itself only.

The protocol does not acknowledge a `subscribe`, so each test first makes
changes until one's event arrives (the subscription is in place), then measures
the latency of one more change. Every wait is bounded."""

from __future__ import annotations

import asyncio
import inspect
import json
import queue
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.e2e import application_client as app_client
from tests.e2e.server import AdminClient, Server, mint_token, running_server

PROTOCOL = "graphql-transport-ws"
WAIT = 10.0
WARM_UP_STEP = 1.0
POSTGRES = ("127.0.0.1", 5432)
POSTGRES_ADMIN = {"host": POSTGRES[0], "port": POSTGRES[1], "user": "postgres"}
NOT_FOUND = 20
RUNTIME_EVENTS = """subscription($id: ID!) { runtimeConfigurationChanged(runtimeID: $id) {
  id type time applicationID runtimeID body } }"""
REGISTER_RUNTIME = """mutation($name: String!) {
  registerRuntime(in: {name: $name, labels: {scenarios: ["DEFAULT"]}}) { id } }"""
REGISTER_APPLICATION = """mutation($name: String!) {
  registerApplication(in: {name: $name, labels: {scenarios: ["DEFAULT"]}}) { id } }"""
RUNTIME_TOKEN = """mutation($id: ID!) { requestOneTimeTokenForRuntime(id: $id) {
  token connectorURL } }"""
# websockets >= 15 would read proxy settings from the environment: not for loopback.
NO_PROXY = {"proxy": None} if "proxy" in inspect.signature(connect).parameters else {}


class Live:
    """One graphql-transport-ws connection; a thread reads every message into a
    queue with the moment it arrived."""

    def __init__(
        self, url: str, payload: dict[str, Any], ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self._stack = ExitStack()
        self.socket: ClientConnection = self._stack.enter_context(
            connect(url, subprotocols=[PROTOCOL], ssl=ssl_context, open_timeout=WAIT, **NO_PROXY)
        )
        assert self.socket.subprotocol == PROTOCOL
        self.socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(self.socket.recv(timeout=WAIT))["type"] == "connection_ack"
        self.messages: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for raw in self.socket:
                self.messages.put((time.perf_counter(), json.loads(raw)))
        except ConnectionClosed:
            return

    def subscribe(self, runtime_id: str, operation: str = "1") -> None:
        payload = {"query": RUNTIME_EVENTS, "variables": {"id": runtime_id}}
        self.socket.send(json.dumps({"id": operation, "type": "subscribe", "payload": payload}))

    def receive(self, timeout: float = WAIT) -> tuple[float, dict[str, Any]] | None:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def event_of(self, application_id: str) -> tuple[float, dict[str, Any]]:
        """The arrival and the event about `application_id` (others are skipped)."""
        deadline = time.monotonic() + WAIT
        while (left := deadline - time.monotonic()) > 0:
            received = self.receive(left)
            if received is None:
                break
            arrived, message = received
            event = _event(message)
            if event["applicationID"] == application_id:
                return arrived, event
        raise AssertionError(f"no event about application {application_id} within {WAIT:.0f} s")

    def close(self) -> None:
        self._stack.close()
        self._reader.join(timeout=WAIT)


def _event(message: dict[str, Any]) -> dict[str, Any]:
    assert message["type"] == "next", message
    assert "errors" not in message["payload"], message
    return message["payload"]["data"]["runtimeConfigurationChanged"]


def _websocket(url: str) -> str:
    return url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _runtime(admin: AdminClient, name: str) -> str:
    return admin.data(REGISTER_RUNTIME, {"name": name})["registerRuntime"]["id"]


def _application(admin: AdminClient, name: str) -> str:
    return admin.data(REGISTER_APPLICATION, {"name": name})["registerApplication"]["id"]


def _until_subscribed(live: Live, change: Callable[[str], str], logs: Callable[[], str]) -> None:
    """Changes until the event of one arrives (later warm-up events are skipped
    by `event_of`)."""
    deadline, number = time.monotonic() + WAIT, 0
    while time.monotonic() < deadline:
        number += 1
        change(f"warm-up-{number}-{uuid.uuid4().hex[:6]}")
        received = live.receive(WARM_UP_STEP)
        if received is not None:
            _event(received[1])
            return
    raise AssertionError(f"no event within {WAIT:.0f} s of the first change\n{logs()}")


def _measured(live: Live, admin: AdminClient, where: str) -> dict[str, Any]:
    started = time.perf_counter()
    application_id = _application(admin, f"measured-{uuid.uuid4().hex[:6]}")
    answered = time.perf_counter()
    arrived, event = live.event_of(application_id)
    print(
        f"\n{where}: event {(arrived - started) * 1000:.0f} ms after the mutation was sent "
        f"(the mutation answered after {(answered - started) * 1000:.0f} ms)"
    )
    assert event["type"] == "APPLICATION_CONFIGURATION_CHANGED"
    assert json.loads(event["body"])["operation"] == "registerApplication"
    assert event["id"] and event["time"]
    return event


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("subscriptions")
    with running_server(directory / "data", directory / "serve.log") as running:
        yield running
    assert "Traceback" not in running.output()


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    return mint_token(server.data_dir)


@pytest.fixture(scope="module")
def admin(server: Server, token: str) -> Iterator[AdminClient]:
    with AdminClient(server.base_url, token) as client:
        yield client


def test_an_administrator_hears_of_a_change_to_a_runtime(
    server: Server, admin: AdminClient, token: str
) -> None:
    runtime_id = _runtime(admin, "live-runtime")
    live = Live(f"{_websocket(server.base_url)}/graphql", _bearer(token))
    try:
        live.subscribe(runtime_id)
        _until_subscribed(live, lambda name: _application(admin, name), server.output)
        _measured(live, admin, "one server (SQLite)")
    finally:
        live.close()


# --- two servers on one PostgreSQL ---------------------------------------------------


def _postgres_answers() -> bool:
    try:
        with socket.create_connection(POSTGRES, timeout=2.0):
            return True
    except OSError:
        return False


async def _postgres_admin(statement: str) -> None:
    connection = await asyncpg.connect(**POSTGRES_ADMIN, database="test", timeout=WAIT)
    try:
        await connection.execute(statement, timeout=30)
    finally:
        await connection.close(timeout=WAIT)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh database, dropped at the end even when the test fails."""
    if not _postgres_answers():
        pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432")
    name = f"compass_sub_{uuid.uuid4().hex[:10]}"
    asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_a_change_on_one_server_reaches_a_subscriber_of_another(
    postgres_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"  # the same for both: shared CA and JWT key
    settings = {"COMPASS_DATABASE_URL": postgres_url}
    with (
        running_server(data_dir, tmp_path / "serve-a.log", settings) as server_a,
        running_server(data_dir, tmp_path / "serve-b.log", settings) as server_b,
    ):
        token = mint_token(data_dir)

        def logs() -> str:
            return "\n".join(
                ["--- server A ---", server_a.output(), "--- server B ---", server_b.output()]
            )

        with AdminClient(server_b.base_url, token) as admin_b:
            runtime_id = _runtime(admin_b, "live-runtime")
            live = Live(f"{_websocket(server_a.base_url)}/graphql", _bearer(token))
            try:
                live.subscribe(runtime_id)
                _until_subscribed(live, lambda name: _application(admin_b, name), logs)
                _measured(live, admin_b, "subscribed on server A, changed on server B")
            finally:
                live.close()
    for server in (server_a, server_b):
        assert "Traceback" not in server.output()


# --- a runtime's certificate over mutual TLS -----------------------------------------


def _pair_runtime(
    admin: AdminClient, runtime_id: str, directory: Path
) -> tuple[str, ssl.SSLContext]:
    """As a runtime agent does: token, configuration, CSR, certificate. The
    directorURL and an SSL context with the runtime's certificate."""
    token = admin.data(RUNTIME_TOKEN, {"id": runtime_id})["requestOneTimeTokenForRuntime"]
    with httpx.Client(timeout=WAIT) as http:
        pairing = app_client.pairing_of(
            app_client.configuration(http, token["connectorURL"], token["token"])
        )
        key, csr = app_client.new_csr(pairing.subject)
        signed = app_client.sign(http, token["connectorURL"], csr, pairing.csr_token)
    credentials = app_client.credentials_of(signed, key, directory)
    return pairing.director_url, credentials.ssl_context()


def test_a_runtime_certificate_subscribes_to_its_own_runtime_only(
    server: Server, admin: AdminClient, tmp_path: Path
) -> None:
    mine = _runtime(admin, "live-mine")
    other = _runtime(admin, "live-other")
    director_url, context = _pair_runtime(admin, mine, tmp_path / "runtime")
    assert director_url.startswith(server.mtls_url)
    url = _websocket(director_url)

    refused = Live(url, {}, context)
    try:
        refused.subscribe(other)
        received = refused.receive()
        assert received is not None, "no answer to a subscription for another runtime"
        message = received[1]
        assert message["type"] == "next" and message["payload"]["data"] is None, message
        [error] = message["payload"]["errors"]
        assert error["extensions"]["error_code"] == NOT_FOUND  # another runtime is invisible
        completed = refused.receive()
        assert completed is not None and completed[1]["type"] == "complete", completed
    finally:
        refused.close()

    own = Live(url, {}, context)
    try:
        own.subscribe(mine)
        _until_subscribed(own, lambda name: _application(admin, name), server.output)
        _measured(own, admin, "a runtime's certificate over mutual TLS")
    finally:
        own.close()
