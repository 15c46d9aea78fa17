"""Live subscriptions over graphql-transport-ws, through the real app under
uvicorn on 127.0.0.1 with a `websockets` client: who may subscribe, and which
changes reach whom."""

from __future__ import annotations

import contextlib
import inspect
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from compass.app import create_app
from compass.auth.scopes import ADMIN_SCOPES
from compass.auth.tokens import mint_user_token
from compass.config import DEFAULT_TENANT_ID
from compass.pki.jwt_keys import load_or_create_signing_key
from tests.api.pki_client import certificate_header, csr_for, decode_certificate
from tests.api.trust import BEHIND_PROXY, CERT_HEADER, CONFIGURATION, CONNECTOR_PATH, SIGN
from tests.loopback import serving

PROTOCOL = "graphql-transport-ws"
RUNTIME_EVENTS = """subscription($id: ID!) { runtimeConfigurationChanged(runtimeID: $id) {
  id type time applicationID runtimeID body } }"""
APPLICATION_EVENTS = """subscription($id: ID!) {
  applicationConfigurationChanged(applicationID: $id) { id type applicationID runtimeID body } }"""
WAIT = 20.0
# websockets >= 15 would read proxy settings from the environment: not for loopback.
NO_PROXY = {"proxy": None} if "proxy" in inspect.signature(connect).parameters else {}


class Client:
    def __init__(self, http: httpx.Client, token: str) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"}

    def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=self.headers
        )
        body = response.json()
        assert "errors" not in body, body
        return body["data"]


@pytest.fixture
def client(settings) -> Iterator[Client]:
    # The certificate header is checked against the peer's address: a trusted
    # proxy's, as 127.0.0.1 is.
    app = create_app(settings.model_copy(update=BEHIND_PROXY))
    key = load_or_create_signing_key(settings.jwt_key_path())
    token = mint_user_token(
        key,
        subject="admin",
        tenant=DEFAULT_TENANT_ID,
        scopes=list(ADMIN_SCOPES),
        lifetime=timedelta(hours=1),
    )
    with (
        serving(app, ws="websockets-sansio", timeout_graceful_shutdown=5) as base,
        httpx.Client(base_url=base, timeout=WAIT, trust_env=False) as http,
    ):
        yield Client(http, token)


class Subscription:
    """One subscription on its own WebSocket; every read waits WAIT at most."""

    def __init__(self, client: Client, query: str, variables: dict[str, Any], params: dict) -> None:
        url = str(client.http.base_url.copy_with(scheme="ws", path="/graphql"))
        self._stack = contextlib.ExitStack()
        self.socket = self._stack.enter_context(
            connect(
                url,
                subprotocols=[PROTOCOL],
                additional_headers=client.headers,
                open_timeout=WAIT,
                **NO_PROXY,
            )
        )
        self._send({"type": "connection_init", "payload": params})
        assert self.next()["type"] == "connection_ack"
        self._send(
            {"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )

    def _send(self, message: dict[str, Any]) -> None:
        self.socket.send(json.dumps(message))

    def next(self) -> dict[str, Any]:
        return json.loads(self.socket.recv(timeout=WAIT))

    def event(self) -> dict[str, Any]:
        message = self.next()
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        ((name, event),) = message["payload"]["data"].items()
        return event

    def error_code(self) -> int:
        """The code of the error that ended the subscription."""
        message = self.next()
        assert message["type"] == "next", message
        [error] = message["payload"]["errors"]
        return error["extensions"]["error_code"]

    def close(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            self._send({"id": "1", "type": "complete"})
        self._stack.close()


@pytest.fixture
def subscriptions() -> Iterator[list[Subscription]]:
    opened: list[Subscription] = []
    yield opened
    for subscription in opened:
        subscription.close()


def subscribe(
    opened: list[Subscription],
    client: Client,
    query: str,
    object_id: str,
    params: dict | None = None,
) -> Subscription:
    subscription = Subscription(
        client, query, {"id": object_id}, client.headers if params is None else params
    )
    opened.append(subscription)
    return subscription


def register_runtime(client: Client, name: str, scenarios: list[str]) -> str:
    return client.data(
        "mutation($in: RuntimeInput!) { registerRuntime(in: $in) { id } }",
        {"in": {"name": name, "labels": {"scenarios": scenarios}}},
    )["registerRuntime"]["id"]


def register_application(client: Client, name: str) -> str:
    return client.data(
        "mutation($name: String!) { registerApplication(in: {name: $name}) { id } }",
        {"name": name},
    )["registerApplication"]["id"]


def test_runtime_subscriber_hears_of_applications_in_its_scenarios(client, subscriptions):
    runtime_id = register_runtime(client, "cluster", ["DEFAULT"])
    events = subscribe(subscriptions, client, RUNTIME_EVENTS, runtime_id)
    app_id = register_application(client, "shop")
    event = events.event()
    assert event["type"] == "APPLICATION_CONFIGURATION_CHANGED"
    assert event["applicationID"] == app_id
    body = json.loads(event["body"])
    assert body["operation"] == "registerApplication"
    assert body["tenant"] == DEFAULT_TENANT_ID

    client.data(
        'mutation($id: ID!) { addBundle(applicationID: $id, in: {name: "orders"}) { id } }',
        {"id": app_id},
    )
    assert json.loads(events.event()["body"])["operation"] == "addBundle"


def test_application_subscriber_gets_what_its_webhooks_get(client, subscriptions):
    app_id = register_application(client, "shop")
    events = subscribe(subscriptions, client, APPLICATION_EVENTS, app_id)
    runtime_id = register_runtime(client, "cluster", ["DEFAULT"])
    joined = events.event()
    assert (joined["type"], joined["runtimeID"]) == ("RUNTIME_JOINED_SCENARIO", runtime_id)
    client.data(
        'mutation($id: ID!) { setRuntimeLabel(runtimeID: $id, key: "runtime_eventServiceUrl", '
        'value: "https://gw.example.com") { key } }',
        {"id": runtime_id},
    )
    assert events.event()["type"] == "RUNTIME_EVENT_URL_CHANGED"


def test_a_rolled_back_change_publishes_nothing(client, subscriptions):
    runtime_id = register_runtime(client, "cluster", ["DEFAULT"])
    events = subscribe(subscriptions, client, RUNTIME_EVENTS, runtime_id)
    failed = client.http.post(
        "/graphql",
        json={"query": 'mutation { registerApplication(in: {name: "Not Valid!"}) { id } }'},
        headers=client.headers,
    ).json()
    assert failed["errors"][0]["extensions"]["error_code"] == 22
    register_application(client, "afterwards")
    assert json.loads(events.event()["body"])["operation"] == "registerApplication"


def test_subscribers_of_other_objects_hear_nothing_of_them(client, subscriptions):
    other = register_runtime(client, "elsewhere", ["DEFAULT"])
    client.data('mutation { createLabelDefinition(in: {key: "x"}) { key } }')
    events = subscribe(subscriptions, client, RUNTIME_EVENTS, other)
    client.data(
        'mutation($id: ID!) { setRuntimeLabel(runtimeID: $id, key: "x", value: "1") { key } }',
        {"id": register_runtime(client, "mine", ["DEFAULT"])},
    )
    app_id = register_application(client, "last")
    event = events.event()  # the first event this subscriber sees is its own
    assert event["applicationID"] == app_id


def test_authorization_of_subscriptions(client, subscriptions):
    runtime_id = register_runtime(client, "cluster", ["DEFAULT"])
    anonymous = Client(client.http, "")
    anonymous.headers = {}
    nobody = subscribe(subscriptions, anonymous, RUNTIME_EVENTS, runtime_id, params={})
    assert nobody.error_code() == 26
    missing = subscribe(subscriptions, client, RUNTIME_EVENTS, "no-such-runtime")
    assert missing.error_code() == 20


@pytest.mark.parametrize(
    "query",
    [
        "subscription { noSuchSubscription { id } }",  # fails validation
        RUNTIME_EVENTS.replace("$id: ID!", "$id: Int!"),  # variable of the wrong type
    ],
)
def test_a_refused_document_carries_invalid_data_over_websocket(client, subscriptions, query):
    # (A document that does not parse closes the socket with 4400, as the protocol says.)
    subscription = subscribe(subscriptions, client, query, "some-runtime")
    message = subscription.next()
    assert message["type"] == "error", message
    assert [error["extensions"]["error_code"] for error in message["payload"]] == [22]


def pair_runtime(client: Client, runtime_id: str) -> dict[str, str]:
    """Connection parameters of the runtime's certificate, forwarded as by a proxy."""
    token = client.data(
        "mutation($id: ID!) { requestOneTimeTokenForRuntime(id: $id) { token } }",
        {"id": runtime_id},
    )["requestOneTimeTokenForRuntime"]["token"]

    def connector(query: str, token: str, variables: dict | None = None) -> Any:
        response = client.http.post(
            CONNECTOR_PATH,
            json={"query": query, "variables": variables or {}},
            headers={"Connector-Token": token},
        )
        return response.json()["data"]

    configuration = connector(CONFIGURATION, token)["configuration"]
    subject = configuration["certificateSigningRequestInfo"]["subject"]
    signed = connector(SIGN, configuration["token"]["token"], {"csr": csr_for(subject)})
    certificate = decode_certificate(signed["signCertificateSigningRequest"]["clientCertificate"])
    return {CERT_HEADER: certificate_header(certificate)}


def test_a_runtime_subscribes_to_itself_only(client, subscriptions):
    mine = register_runtime(client, "mine", ["DEFAULT"])
    other = register_runtime(client, "other", ["DEFAULT"])
    as_runtime = Client(client.http, "")
    as_runtime.headers = pair_runtime(client, mine)
    refused = subscribe(subscriptions, as_runtime, RUNTIME_EVENTS, other, params={})
    assert refused.error_code() == 20  # another runtime is invisible to it
    events = subscribe(subscriptions, as_runtime, RUNTIME_EVENTS, mine, params={})
    app_id = register_application(client, "shop")
    assert events.event()["applicationID"] == app_id
