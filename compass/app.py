"""The Starlette application factory: the one composition root."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import process_result

from compass import __version__
from compass.auth.authenticate import Authenticator
from compass.auth.tokens import TokenVerifier
from compass.bootstrap import ensure_default_tenant
from compass.config import Settings
from compass.db import create_engine, create_session_factory
from compass.domain.bundle.fetcher import SpecFetcher
from compass.domain.bundle.service import FETCH_KIND
from compass.domain.limits import LIMITS_KEY, Limits
from compass.egress import create_http_client
from compass.errors import InvalidData
from compass.graphiql import STATIC_PATH, graphiql_page, static_files
from compass.logs import request_id_middleware
from compass.metrics import METRICS_PATH, metrics_endpoint
from compass.notifications.deliveries import WebhookDeliverer
from compass.notifications.events import DELIVERY_KIND
from compass.notifications.live import LIVE_KEY, create_live_bus
from compass.notifications.worker import Handler, OutboxWorker
from compass.oauth import token_endpoint
from compass.pki.authority import CertificateAuthority
from compass.pki.jwt_keys import load_or_create_signing_key
from compass.pki.secret_box import SecretBox, load_or_create_secret_box, seal_columns_with
from compass.provisioner.providers import Provider
from compass.provisioner.providers.command import CommandProvider
from compass.provisioner.providers.local import LocalProvider
from compass.provisioner.service import STEP_KIND
from compass.provisioner.steps import OperationRunner, StepSettings
from compass.provisioner.supervisor import AgentSupervisor
from compass.resolvers.context import Context
from compass.resolvers.document_errors import with_document_error_codes
from compass.resolvers.errors import cut_message
from compass.resolvers.schema import build_schema
from compass.resolvers.state import AppState
from compass.telemetry import tracing_from_environment

__all__ = ["create_app", "GRAPHQL_PATHS"]

GRAPHQL_PATHS = (
    "/graphql",
    "/director/graphql",
    "/connector/graphql",
    "/provisioner/graphql",
)


class _BodyTooLarge(Exception):
    pass


def _refusal(status: int, message: str) -> JSONResponse:
    """A GraphQL-style error body for requests refused before they execute."""
    error = InvalidData(cut_message(message))
    return JSONResponse(
        {"data": None, "errors": [{"message": error.message, "extensions": error.extensions}]},
        status_code=status,
    )


def _limited(scope: Scope, receive: Receive, limit: int) -> Receive:
    """`receive` that refuses a body over `limit` bytes, declared or streamed."""
    declared = dict(scope.get("headers") or ()).get(b"content-length", b"0")
    if declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge
    seen = 0

    async def counting() -> Message:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise _BodyTooLarge
        return message

    return counting


class CompassGraphQL(GraphQL):
    def __init__(self, schema: Any, max_request_bytes: int) -> None:
        super().__init__(schema)
        self.max_request_bytes = max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        response: Any
        try:
            request = Request(scope, _limited(scope, receive, self.max_request_bytes))
            response = await self.run(request)
        except _BodyTooLarge:
            response = _refusal(
                413,
                f"the request body is larger than {self.max_request_bytes} bytes "
                "(max_request_bytes)",
            )
        except HTTPException as error:
            response = _refusal(error.status_code, error.reason)
        await response(scope, receive, send)

    def encode_json(self, data: object) -> str:
        """orjson, several times faster than the standard library; it refuses
        what JSON cannot hold exactly (integers beyond 64 bits), which the
        standard library still writes. A str, not bytes: subscriptions send it
        as a WebSocket text frame, which browser clients require."""
        try:
            return orjson.dumps(data).decode()
        except TypeError:
            return json.dumps(data, separators=(",", ":"))

    def decode_json(self, data: str | bytes) -> object:
        """A JSON object (or a batch of them); anything else is a 400, never a 500."""
        try:
            value = json.loads(data)
        except (ValueError, RecursionError) as error:  # bad bytes, digits or nesting
            raise HTTPException(400, "the request body is not valid JSON") from error
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(item, dict) for item in items):
            raise HTTPException(400, "the request body must be a JSON object")
        return value

    async def render_graphql_ide(self, request: Any) -> Any:
        return graphiql_page(request.scope)

    async def get_context(self, request: Any, response: Any) -> Context:
        return Context(request, request.app.state.compass)

    async def process_result(self, request: Any, result: Any) -> Any:
        return process_result(with_document_error_codes(result))


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "version": __version__})


async def readyz(request: Request) -> JSONResponse:
    state: AppState = request.app.state.compass
    try:
        async with state.engine.connect() as connection:
            await connection.execute(sa.text("SELECT 1"))
    except Exception:  # any failure means "not ready"; the reason is not for clients
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
    return JSONResponse({"status": "ok", "database": "reachable"})


def _outbox_handlers(
    settings: Settings,
    sessions: Any,
    http: httpx.AsyncClient,
    supervisor: AgentSupervisor,
    box: SecretBox,
) -> dict[str, Handler]:
    window = timedelta(hours=settings.webhook_delivery_hours)
    return {
        FETCH_KIND: SpecFetcher(sessions, http),
        STEP_KIND: _operation_runner(settings, sessions, supervisor),
        DELIVERY_KIND: WebhookDeliverer(sessions, http, box, window=window),
    }


def _operation_runner(
    settings: Settings, sessions: Any, supervisor: AgentSupervisor
) -> OperationRunner:
    providers: dict[str, Provider] = {
        "local": LocalProvider(supervisor),
        "command": CommandProvider(
            settings.provisioner_command, settings.provisioner_command_timeout
        ),
    }
    step_settings = StepSettings(
        connector_url=settings.connector_url(),
        token_lifetime=timedelta(minutes=settings.runtime_token_minutes),
        agent_wait=timedelta(seconds=settings.provisioner_agent_wait_seconds),
    )
    return OperationRunner(sessions, providers, step_settings)


def _outbox_leases(settings: Settings) -> dict[str, timedelta]:
    """A provisioning step may run the provider's command: hold it for that long."""
    step = max(settings.outbox_lease_seconds, settings.provisioner_command_timeout + 30)
    return {STEP_KIND: timedelta(seconds=step)}


def create_app(
    settings: Settings, http_transport: httpx.AsyncBaseTransport | None = None
) -> Starlette:
    """`http_transport` replaces the network for outgoing calls (tests)."""
    tracing = tracing_from_environment()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(settings.sqlalchemy_url(), settings.database_pool_size)
        live = create_live_bus(settings.sqlalchemy_url())
        sessions = create_session_factory(
            engine, info={LIVE_KEY: live, LIMITS_KEY: Limits.of(settings)}
        )
        key = load_or_create_signing_key(settings.jwt_key_path())
        http = create_http_client(
            settings.egress_allowed_networks, settings.http_timeout, http_transport
        )
        if tracing is not None:
            tracing.instrument(engine, http)
        supervisor = AgentSupervisor(
            sessions,
            settings.runtimes_dir(),
            lease=timedelta(seconds=settings.supervisor_lease_seconds),
        )
        secret_box = load_or_create_secret_box(settings.secrets_key_path(), settings.secrets_key)
        seal_columns_with(engine, secret_box)
        outbox = OutboxWorker(
            sessions,
            _outbox_handlers(settings, sessions, http, supervisor, secret_box),
            lease=timedelta(seconds=settings.outbox_lease_seconds),
            leases=_outbox_leases(settings),
        )
        authority = CertificateAuthority.load_or_create(
            settings.data_dir, settings.ca_cert, settings.ca_key
        )
        authenticator = Authenticator(settings, TokenVerifier(settings, key), authority)
        app.state.compass = AppState(
            settings=settings,
            engine=engine,
            sessions=sessions,
            authenticator=authenticator,
            outbox=outbox,
            http=http,
            authority=authority,
            signing_key=key,
            secret_box=secret_box,
            live=live,
        )
        await ensure_default_tenant(sessions)
        await live.start()
        outbox.start()
        supervisor.start()
        try:
            yield
        finally:
            await outbox.stop()
            await supervisor.stop()
            await live.stop()
            await http.aclose()
            await engine.dispose()
            if tracing is not None:
                tracing.shutdown()

    graphql = CompassGraphQL(build_schema(settings), settings.max_request_bytes)
    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/oauth2/token", token_endpoint, methods=["POST"]),
    ]
    routes += [Route(path, graphql) for path in GRAPHQL_PATHS]
    routes += [WebSocketRoute(path, graphql) for path in GRAPHQL_PATHS]
    if settings.metrics_port is None:  # else on a listener of its own (compass.server)
        routes.append(Route(METRICS_PATH, metrics_endpoint))
    routes.append(Mount(STATIC_PATH, app=static_files(), name="graphiql-static"))
    middleware = [request_id_middleware()]
    if tracing is not None:
        middleware.insert(0, tracing.middleware())
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
