"""The live subscription: `runtimeConfigurationChanged` of the agent's runtime
over WebSocket (graphql-transport-ws) to the directorURL, with the same client
certificate and CA as the HTTPS calls, so a change reaches the agent at once
instead of at the next poll (the poll stays as the fallback).

- Each `next` event calls `on_event` (the loop syncs at once); so does each
  (re)subscription, since changes may have been missed while disconnected.
- A dropped connection or a failed connection attempt: `reconnecting`, logged
  once per distinct cause, retried with capped exponential backoff and jitter
  (tenacity). The backoff starts over after a session that lasted.
- A server that does not offer the subscription (an HTTP error on the upgrade,
  a GraphQL error for the subscription, a protocol close code 44xx):
  `unavailable`, polling only, tried again after the longest backoff.

The task runs until it is cancelled; cancelling closes the socket.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import ssl
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    wait_exponential,
    wait_random,
)
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidMessage,
    InvalidStatus,
)

__all__ = [
    "ACTIVE",
    "PROTOCOL",
    "QUERY",
    "RECONNECTING",
    "UNAVAILABLE",
    "Subscription",
    "websocket_url",
]

PROTOCOL = "graphql-transport-ws"
QUERY = "subscription($id: ID!) { runtimeConfigurationChanged(runtimeID: $id) { id type } }"
OPERATION = "1"
ACTIVE, RECONNECTING, UNAVAILABLE = "active", "reconnecting", "unavailable"
STABLE = 10.0  # seconds a session must last for the backoff to start over
CLOSE_TIMEOUT = 2.0  # the close handshake when stopping
JITTER = 0.5
log = logging.getLogger("compass.agent.subscription")
# websockets >= 15 reads proxy settings from the environment: not for loopback or
# the directorURL, which the HTTPS calls reach directly too.
_NO_PROXY = {"proxy": None} if "proxy" in inspect.signature(connect).parameters else {}


class Dropped(Exception):
    """The session ended or could not start; `unavailable`: the server does not
    offer the subscription (wait the longest backoff before the next try)."""

    def __init__(self, cause: str, unavailable: bool = False) -> None:
        super().__init__(cause)
        self.unavailable = unavailable


def websocket_url(url: str) -> str:
    """https → wss, http → ws; the same host, port and path."""
    parts = urlsplit(url)
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
    return urlunsplit(parts._replace(scheme=scheme))


def _errors(payload: Any) -> str:
    items = payload if isinstance(payload, list) else [payload]
    return "; ".join(
        str(item.get("message", item)) if isinstance(item, dict) else str(item) for item in items
    )


def _closed(code: int | None, reason: str | None) -> Dropped:
    if code is None:
        return Dropped("the connection was lost")
    text = f"the server closed the connection ({code}{f' {reason}' if reason else ''})"
    # graphql-transport-ws closes with 44xx when it will not serve this client
    # (bad request, unauthorised, forbidden, no subprotocol); 4408 and 4429 are timing.
    unavailable = 4400 <= code < 4500 and code not in (4408, 4429)
    return Dropped(text, unavailable)


class Subscription:
    def __init__(
        self,
        url: str,
        runtime_id: str,
        ssl_context: ssl.SSLContext | None,
        headers: dict[str, str],
        on_event: Callable[[], None],
        on_state: Callable[[str], None],
        max_backoff: float,
        timeout: float,
    ) -> None:
        self.url = websocket_url(url)
        self.runtime_id = runtime_id
        self.ssl_context = ssl_context if self.url.startswith("wss:") else None
        self.headers = headers
        self.on_event = on_event
        self.on_state = on_state
        self.max_backoff = max_backoff
        self.timeout = timeout
        self._backoff = wait_exponential(multiplier=0.5, max=max_backoff) + wait_random(0, JITTER)
        self._cause: str | None = None  # the last cause logged, until a session lasts
        self._announced = False  # "active" logged since the last cause

    async def run(self) -> None:
        """Until cancelled."""
        self.on_state(RECONNECTING)
        while True:
            retrying = AsyncRetrying(
                retry=retry_if_exception_type(Exception),
                wait=self._wait,
                sleep=asyncio.sleep,
                before_sleep=self._before_sleep,
            )
            await retrying(self._session)  # returns after a session that lasted

    def _wait(self, retry_state: RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, Dropped) and error.unavailable:
            return self.max_backoff
        return min(self.max_backoff, self._backoff(retry_state))

    def _before_sleep(self, retry_state: RetryCallState) -> None:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
        unavailable = isinstance(error, Dropped) and error.unavailable
        if isinstance(error, Dropped):
            cause = str(error)
        else:  # a bug must not end the subscription
            cause = f"unexpected error: {error!r}"
            log.debug("traceback of the unexpected error", exc_info=error)
        self._report(UNAVAILABLE if unavailable else RECONNECTING, cause, wait)

    def _report(self, state: str, cause: str, wait: float | None) -> None:
        if cause != self._cause:
            if state == UNAVAILABLE:
                then = f"polling only, trying again in {wait or 0:.1f} s"
            else:
                then = f"reconnecting in {wait:.1f} s" if wait is not None else "reconnecting"
            log.warning("subscription %s: %s; %s", state, cause, then)
            self._cause = cause
            self._announced = False
        self.on_state(state)

    async def _session(self) -> None:
        """One connection: raises Dropped when it ends, unless it had lasted."""
        started: float | None = None
        try:
            async with connect(
                self.url,
                ssl=self.ssl_context,
                subprotocols=[PROTOCOL],  # type: ignore[list-item]
                additional_headers=self.headers,
                open_timeout=self.timeout,
                close_timeout=CLOSE_TIMEOUT,
                **_NO_PROXY,
            ) as socket:
                if socket.subprotocol != PROTOCOL:
                    raise Dropped(f"the server does not speak {PROTOCOL}", unavailable=True)
                await self._initialise(socket)
                started = time.monotonic()
                self._active()
                async for message in socket:
                    await self._handle(socket, message)
                raise _closed(socket.close_code, socket.close_reason)
        except Dropped as error:
            failure = error
        except ConnectionClosed as error:
            received = error.rcvd
            failure = _closed(received.code if received else None, received and received.reason)
        except InvalidStatus as error:
            status = error.response.status_code
            failure = Dropped(f"{self.url}: HTTP {status} on the upgrade", status < 500)
        except InvalidMessage as error:  # no valid HTTP answer: the connection broke
            failure = Dropped(f"{self.url}: {error}")
        except InvalidHandshake as error:
            failure = Dropped(f"{self.url}: {error}", unavailable=True)
        except (OSError, TimeoutError) as error:  # ssl.SSLError is an OSError
            failure = Dropped(f"{self.url}: {str(error) or type(error).__name__}")
        lasted = started is not None and time.monotonic() - started >= STABLE
        if lasted:
            self._cause = None  # a new episode: its causes are logged again
            if not failure.unavailable:
                self._report(RECONNECTING, str(failure), None)
                return
        raise failure

    async def _initialise(self, socket: ClientConnection) -> None:
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    message = self._parse(await socket.recv())
                    if message.get("type") == "connection_ack":
                        break
                    if message.get("type") == "ping":
                        await socket.send(json.dumps({"type": "pong"}))
                        continue
                    raise Dropped(
                        f"expected connection_ack, got {message.get('type')!r}", unavailable=True
                    )
        except TimeoutError:
            raise Dropped(f"no connection_ack within {self.timeout:g} s") from None
        subscribe = {
            "id": OPERATION,
            "type": "subscribe",
            "payload": {"query": QUERY, "variables": {"id": self.runtime_id}},
        }
        await socket.send(json.dumps(subscribe))

    def _active(self) -> None:
        if not self._announced:
            log.info("subscription active: %s", self.url)
            self._announced = True
        self.on_state(ACTIVE)
        self.on_event()  # changes may have been missed while not subscribed

    @staticmethod
    def _parse(raw: str | bytes) -> dict[str, Any]:
        try:
            message = json.loads(raw)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            raise Dropped(f"not a {PROTOCOL} message", unavailable=True)
        return message

    async def _handle(self, socket: ClientConnection, raw: str | bytes) -> None:
        message = self._parse(raw)
        kind, payload = message.get("type"), message.get("payload")
        if kind == "ping":
            await socket.send(json.dumps({"type": "pong"}))
        elif kind == "next" and message.get("id") == OPERATION:
            if isinstance(payload, dict) and payload.get("errors") and not payload.get("data"):
                raise Dropped(f"subscription refused: {_errors(payload['errors'])}", True)
            event = (payload or {}).get("data") or {}
            event = event.get("runtimeConfigurationChanged") or {}
            log.debug("event %s %s: syncing now", event.get("type"), event.get("id"))
            self.on_event()
        elif kind == "error" and message.get("id") == OPERATION:
            raise Dropped(f"subscription refused: {_errors(payload)}", unavailable=True)
        elif kind == "complete" and message.get("id") == OPERATION:
            raise Dropped("the server ended the subscription")
