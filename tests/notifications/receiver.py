"""A real HTTP receiver on 127.0.0.1 for webhook deliveries: it records every
request, answers from a script, and can play an OAuth token endpoint and a
redirecting host."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook

__all__ = ["HOOK", "TOKEN", "Received", "Receiver", "running_receiver"]

HOOK = "/hook"
TOKEN = "/token"
WAIT = 20.0


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def verified(self, secret: str) -> Any:
        """The event, when the Standard Webhooks signature holds for `secret`."""
        return Webhook(secret).verify(self.body, self.headers)


class Receiver:
    """`answers`: statuses for the next hook requests, in order (then 204);
    `clients`: client ID -> secret the token endpoint accepts;
    `redirects`: path -> Location answered with 307."""

    def __init__(self) -> None:
        self.answers: list[int] = []
        self.clients: dict[str, str] = {}
        self.redirects: dict[str, str] = {}
        self.token_lifetime = 3600
        self.tokens_issued = 0
        self.requests: list[Received] = []
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_port

    def url(self, path: str = HOOK) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def hooks(self) -> list[Received]:
        with self._changed:
            return [r for r in self.requests if r.path == HOOK]

    def wait_for_hooks(self, count: int, timeout: float = WAIT) -> list[Received]:
        """The first `count` hook requests, waiting at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                hooks = [r for r in self.requests if r.path == HOOK]
                remaining = deadline - time.monotonic()
                if len(hooks) >= count or remaining <= 0:
                    break
                self._changed.wait(remaining)
        assert len(hooks) >= count, f"{len(hooks)} hook requests within {timeout} s: {hooks}"
        return hooks

    def _record(self, request: Received) -> None:
        with self._changed:
            self.requests.append(request)
            self._changed.notify_all()

    def _next_answer(self) -> int:
        with self._changed:
            return self.answers.pop(0) if self.answers else 204

    def _token(self, authorization: str) -> tuple[int, dict[str, Any]]:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return 401, {"error": "invalid_client"}
        client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        if self.clients.get(client_id) != secret:
            return 401, {"error": "invalid_client"}
        with self._changed:
            self.tokens_issued += 1
            token = f"token-{self.tokens_issued}"
        return 200, {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": self.token_lifetime,
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {key.lower(): value for key, value in self.headers.items()}
                receiver._record(Received(self.command, self.path, headers, body))
                if self.path in receiver.redirects:
                    self._send(307, b"", {"Location": receiver.redirects[self.path]})
                elif self.path == TOKEN:
                    status, answer = receiver._token(headers.get("authorization", ""))
                    content = json.dumps(answer).encode()
                    self._send(status, content, {"Content-Type": "application/json"})
                elif self.path == HOOK:
                    self._send(receiver._next_answer(), b"")
                else:
                    self._send(404, b"")

            do_GET = do_POST = _handle  # noqa: N815 (http.server's names)

            def _send(
                self, status: int, body: bytes, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if status != 204:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        return Handler

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
