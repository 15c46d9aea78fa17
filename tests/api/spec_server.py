"""A real HTTP server on 127.0.0.1 that serves specifications to fetch requests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OPENAPI_YAML = """openapi: 3.0.0
info:
  title: Orders
  version: "1.0"
paths: {}
"""


class SpecServer:
    """Serves `documents` by path; `/slow` waits until `release` is set."""

    def __init__(self) -> None:
        self.documents: dict[str, str] = {"/orders.yaml": OPENAPI_YAML, "/broken.json": "{"}
        # Bodies sent as they are, with `Content-Encoding: gzip`.
        self.gzipped: dict[str, bytes] = {}
        self.release = threading.Event()
        self.requests: list[tuple[str, str | None]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_port}{path}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.requests.append((self.path, self.headers.get("Authorization")))
                if self.path in server.gzipped:
                    self._send(server.gzipped[self.path], {"Content-Encoding": "gzip"})
                    return
                if self.path == "/slow":
                    server.release.wait(timeout=20)
                body = server.documents.get(self.path)
                if body is None and self.path != "/slow":
                    self.send_error(404)
                    return
                self._send((body or OPENAPI_YAML).encode(), {})

            def _send(self, payload: bytes, headers: dict[str, str]) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: object) -> None:
                pass

        return Handler

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def running_spec_server() -> Iterator[SpecServer]:
    server = SpecServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
