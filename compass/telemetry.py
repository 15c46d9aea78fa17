"""OpenTelemetry tracing, from the optional extra `otel`.

Tracing is on when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the standard
OpenTelemetry variable; the exporter reads it and its companions, such as
`OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_SERVICE_NAME`, itself) and the
packages of the extra are importable. Then incoming requests (ASGI), database
statements (the engine) and outgoing calls (the egress client) become spans,
exported over OTLP/HTTP. Without the variable or the extra nothing of
OpenTelemetry is imported.

The tracer provider belongs to one app (it is not installed globally), so
several apps in one process, as in tests, each trace with their own.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.middleware import Middleware

from compass import __version__

__all__ = ["ENDPOINT_VARIABLE", "Tracing", "tracing_from_environment"]

log = logging.getLogger("compass.telemetry")

ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_ENDPOINT"
SERVICE_NAME = "compass"
# Probes and scrapes every few seconds would drown the requests worth tracing.
UNTRACED_PATHS = "/healthz,/readyz,/metrics"


class Tracing:
    """A tracer provider and the instrumentation that feeds it."""

    def __init__(self, provider: Any) -> None:
        self.provider = provider

    def middleware(self) -> Middleware:
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        return Middleware(
            OpenTelemetryMiddleware,
            tracer_provider=self.provider,
            excluded_urls=UNTRACED_PATHS,
            exclude_spans=["receive", "send"],
        )

    def instrument(self, engine: AsyncEngine, http: httpx.AsyncClient) -> None:
        self.instrument_engine(engine)
        self.instrument_http(http)

    def instrument_engine(self, engine: AsyncEngine) -> None:
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        # Its declared range stops before SQLAlchemy 2.1, whose engine events it
        # uses unchanged (tests/unit/test_telemetry.py checks the spans).
        SQLAlchemyInstrumentor().instrument(
            engine=engine.sync_engine, tracer_provider=self.provider, skip_dep_check=True
        )

    def instrument_http(self, client: httpx.AsyncClient) -> None:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=self.provider)

    def force_flush(self, timeout_millis: int = 10_000) -> bool:
        return self.provider.force_flush(timeout_millis)

    def shutdown(self) -> None:
        """Sends what is left and undoes the engine instrumentation, which
        SQLAlchemyInstrumentor holds once per process."""
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        SQLAlchemyInstrumentor().uninstrument()
        self.provider.shutdown()


def _provider() -> Any:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.version": __version__})
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def tracing_from_environment(environ: Mapping[str, str] = os.environ) -> Tracing | None:
    """Tracing when the endpoint is configured and the extra installed, else None."""
    if not environ.get(ENDPOINT_VARIABLE):
        return None
    try:
        import opentelemetry.instrumentation.asgi  # noqa: F401
        import opentelemetry.instrumentation.httpx  # noqa: F401
        import opentelemetry.instrumentation.sqlalchemy  # noqa: F401

        provider = _provider()
    except ImportError as error:
        log.warning(
            "%s is set but tracing is off: %s (install the extra: pip install 'compass-py[otel]')",
            ENDPOINT_VARIABLE,
            error,
        )
        return None
    log.info("tracing: spans go to the OTLP endpoint of %s", ENDPOINT_VARIABLE)
    return Tracing(provider)
