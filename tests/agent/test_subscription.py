"""The agent's subscription against small fake graphql-transport-ws servers on
127.0.0.1 (plain ws://): what it sends, events waking the loop, reconnection
with backoff, and servers that do not offer the subscription."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from compass.agent.subscription import (
    ACTIVE,
    PROTOCOL,
    QUERY,
    RECONNECTING,
    UNAVAILABLE,
    Subscription,
    websocket_url,
)

DEADLINE = 10.0
RUNTIME = "rt-1"
Handler = Callable[[ServerConnection], Awaitable[None]]


class Recorder:
    """What the subscription reported, and connections the server saw."""

    def __init__(self) -> None:
        self.events = 0
        self.states: list[str] = []
        self.connections: list[float] = []
        self.paths: list[str] = []
        self.messages: list[dict[str, Any]] = []

    def event(self) -> None:
        self.events += 1

    def state(self, state: str) -> None:
        self.states.append(state)


async def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {DEADLINE:.0f} s: {what}")
        await asyncio.sleep(0.02)


@asynccontextmanager
async def _server(
    handler: Handler,
    recorder: Recorder,
    process_request: Callable[[ServerConnection, Request], Response | None] | None = None,
) -> AsyncIterator[str]:
    async def handle(connection: ServerConnection) -> None:
        recorder.connections.append(time.monotonic())
        recorder.paths.append(connection.request.path)
        await handler(connection)

    async with serve(
        handle, "127.0.0.1", 0, subprotocols=[PROTOCOL], process_request=process_request
    ) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}/director/graphql"


async def _receive(connection: ServerConnection, recorder: Recorder) -> dict[str, Any]:
    message = json.loads(await connection.recv())
    recorder.messages.append(message)
    return message


async def _handshake(connection: ServerConnection, recorder: Recorder) -> None:
    assert (await _receive(connection, recorder))["type"] == "connection_init"
    await connection.send(json.dumps({"type": "connection_ack"}))
    assert (await _receive(connection, recorder))["type"] == "subscribe"


@asynccontextmanager
async def _running(url: str, recorder: Recorder, max_backoff: float) -> AsyncIterator[None]:
    subscription = Subscription(
        url,
        RUNTIME,
        None,
        {"Tenant": "t-1"},
        on_event=recorder.event,
        on_state=recorder.state,
        max_backoff=max_backoff,
        timeout=5.0,
    )
    task = asyncio.create_task(subscription.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.wait({task}, timeout=DEADLINE)
        assert task.cancelled()


def _event(number: int) -> str:
    data = {"runtimeConfigurationChanged": {"id": f"e{number}", "type": "CHANGED"}}
    return json.dumps({"id": "1", "type": "next", "payload": {"data": data}})


def test_websocket_url() -> None:
    assert websocket_url("https://h:8443/director/graphql") == "wss://h:8443/director/graphql"
    assert websocket_url("http://h/graphql?x=1") == "ws://h/graphql?x=1"


async def test_subscribes_and_each_event_wakes_the_loop() -> None:
    recorder, closed = Recorder(), asyncio.Event()

    async def handler(connection: ServerConnection) -> None:
        await _handshake(connection, recorder)
        await connection.send(json.dumps({"type": "ping"}))
        for number in (1, 2):
            await connection.send(_event(number))
        try:
            assert (await _receive(connection, recorder)) == {"type": "pong"}
            await connection.wait_closed()
        finally:
            closed.set()

    async with _server(handler, recorder) as url, _running(url, recorder, max_backoff=5):
        # One wake when active (changes may have been missed), one per event.
        await _until(lambda: recorder.events >= 3, "three wakes")
        assert recorder.states == [RECONNECTING, ACTIVE]
        init, subscribe = recorder.messages[:2]
        assert init == {"type": "connection_init", "payload": {}}
        assert subscribe == {
            "id": "1",
            "type": "subscribe",
            "payload": {"query": QUERY, "variables": {"id": RUNTIME}},
        }
        assert recorder.paths == ["/director/graphql"]
        await _until(lambda: len(recorder.messages) >= 3, "the pong")
    await asyncio.wait_for(closed.wait(), DEADLINE)  # cancelling closed the socket
    assert len(recorder.connections) == 1


async def test_a_dropped_connection_reconnects_with_backoff_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = Recorder()

    async def handler(connection: ServerConnection) -> None:
        await _handshake(connection, recorder)
        await connection.close(1012, "restarting")

    caplog.set_level(logging.INFO, logger="compass.agent.subscription")
    async with _server(handler, recorder) as url, _running(url, recorder, max_backoff=30):
        await _until(lambda: len(recorder.connections) >= 3, "three connections")
        await asyncio.sleep(0.3)
    gaps = [b - a for a, b in zip(recorder.connections, recorder.connections[1:], strict=False)]
    # 0.5 s, 1 s, 2 s ... (plus up to 0.5 s of jitter): no busy loop.
    assert all(gap >= 0.45 for gap in gaps), gaps
    assert gaps[1] >= 0.95, gaps
    assert RECONNECTING in recorder.states[1:] and ACTIVE in recorder.states
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "closed the connection (1012 restarting)" in warnings[0]


async def test_an_error_for_the_subscription_means_unavailable_until_the_max_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = Recorder()

    async def handler(connection: ServerConnection) -> None:
        await _handshake(connection, recorder)
        error = {"message": "Cannot query field 'runtimeConfigurationChanged'"}
        await connection.send(json.dumps({"id": "1", "type": "error", "payload": [error]}))
        await connection.wait_closed()

    caplog.set_level(logging.INFO, logger="compass.agent.subscription")
    async with _server(handler, recorder) as url, _running(url, recorder, max_backoff=0.8):
        await _until(lambda: len(recorder.connections) >= 3, "three connections")
        await _until(lambda: recorder.states[-1] == UNAVAILABLE, "unavailable")
    gaps = [b - a for a, b in zip(recorder.connections, recorder.connections[1:], strict=False)]
    assert all(gap >= 0.75 for gap in gaps), gaps
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "Cannot query field" in warnings[0], warnings
    assert "polling only" in warnings[0]


async def test_an_error_event_means_unavailable() -> None:
    recorder = Recorder()

    async def handler(connection: ServerConnection) -> None:
        await _handshake(connection, recorder)
        errors = [{"message": "runtime not found", "extensions": {"error_code": 20}}]
        payload = {"data": None, "errors": errors}
        await connection.send(json.dumps({"id": "1", "type": "next", "payload": payload}))
        await connection.send(json.dumps({"id": "1", "type": "complete"}))
        await connection.wait_closed()

    async with _server(handler, recorder) as url, _running(url, recorder, max_backoff=30):
        await _until(lambda: recorder.states[-1:] == [UNAVAILABLE], "unavailable")
        await asyncio.sleep(0.5)
        assert len(recorder.connections) == 1  # not before the max backoff


async def test_an_http_error_on_the_upgrade_means_unavailable() -> None:
    recorder = Recorder()

    def refuse(connection: ServerConnection, request: Request) -> Response:
        return connection.respond(404, "no subscriptions here\n")

    async def handler(connection: ServerConnection) -> None:  # never reached
        raise AssertionError("upgraded")

    async with (
        _server(handler, recorder, process_request=refuse) as url,
        _running(url, recorder, max_backoff=30),
    ):
        await _until(lambda: recorder.states[-1:] == [UNAVAILABLE], "unavailable")
    assert recorder.events == 0


async def test_nothing_listening_means_reconnecting() -> None:
    recorder = Recorder()
    async with _server(lambda connection: connection.wait_closed(), recorder) as url:
        pass  # closed: nothing listens on the port any more
    async with _running(url, recorder, max_backoff=30):
        await _until(lambda: len(recorder.states) >= 2, "a failed attempt reported")
        await asyncio.sleep(0.3)
    assert recorder.states == [RECONNECTING] * len(recorder.states) and recorder.events == 0
