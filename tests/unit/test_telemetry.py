"""Tracing with the `otel` extra: off (and not imported) without
OTEL_EXPORTER_OTLP_ENDPOINT; with it, a request's ASGI, SQLAlchemy and httpx
spans reach an OTLP/HTTP collector (a stub on loopback) when the app stops."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from compass.app import create_app
from compass.telemetry import ENDPOINT_VARIABLE, tracing_from_environment


class Collector:
    """Keeps the bodies of POSTs to /v1/traces; answers GET /ping."""

    def __init__(self) -> None:
        self.exports: list[bytes] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == "/v1/traces":
                    collector.exports.append(body)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200 if self.path == "/ping" else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def spans(self) -> list[tuple[str, Span]]:
        """(instrumentation scope, span) of everything exported."""
        found = []
        for body in self.exports:
            request = ExportTraceServiceRequest.FromString(body)
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    found += [(scope.scope.name, span) for span in scope.spans]
        return found

    def service_names(self) -> set[str]:
        names = set()
        for body in self.exports:
            for resource in ExportTraceServiceRequest.FromString(body).resource_spans:
                for attribute in resource.resource.attributes:
                    if attribute.key == "service.name":
                        names.add(attribute.value.string_value)
        return names


@pytest.fixture
def collector() -> Iterator[Collector]:
    stub = Collector()
    thread = threading.Thread(target=stub.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        stub.server.shutdown()
        stub.server.server_close()
        thread.join(timeout=10)


def test_tracing_is_off_without_the_endpoint():
    assert tracing_from_environment({}) is None
    assert tracing_from_environment({ENDPOINT_VARIABLE: ""}) is None


def test_without_the_endpoint_nothing_of_opentelemetry_is_imported(tmp_path):
    script = (
        "import sys\n"
        "from compass.app import create_app\n"
        "from compass.config import Settings\n"
        f"create_app(Settings(data_dir={str(tmp_path)!r}))\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    env = {"PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


async def test_spans_of_a_request_reach_the_collector(settings, collector, monkeypatch):
    monkeypatch.setenv(ENDPOINT_VARIABLE, collector.url)
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        from tests.conftest import Api

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://compass.test") as client:
            api = Api(client, settings)
            api.token = api.mint()
            await api.data("{ applications { totalCount } }")
        # The egress client (webhooks, spec fetches) is traced too.
        assert (await app.state.compass.http.get(f"{collector.url}/ping")).status_code == 200
    # Leaving the lifespan shut the tracer provider down, which exports what is left.
    spans = collector.spans()
    scopes = {scope for scope, _ in spans}
    assert "opentelemetry.instrumentation.asgi" in scopes, scopes
    assert "opentelemetry.instrumentation.sqlalchemy" in scopes, scopes
    assert "opentelemetry.instrumentation.httpx" in scopes, scopes
    names = {span.name for _, span in spans}
    assert "POST /graphql" in names, names
    assert collector.service_names() == {"compass"}
    server = next(span for _, span in spans if span.name == "POST /graphql")
    database = [s for scope, s in spans if scope.endswith("sqlalchemy")]
    assert any(span.trace_id == server.trace_id for span in database)
