"""The Starlette application factory: the one composition root."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL

from compass import __version__
from compass.auth.authenticate import Authenticator
from compass.auth.tokens import TokenVerifier
from compass.bootstrap import ensure_default_tenant
from compass.config import Settings
from compass.db import create_engine, create_session_factory
from compass.domain.bundle.fetcher import SpecFetcher
from compass.domain.bundle.service import FETCH_KIND
from compass.notifications.worker import Handler, OutboxWorker
from compass.oauth import token_endpoint
from compass.pki.authority import CertificateAuthority
from compass.pki.jwt_keys import load_or_create_signing_key
from compass.resolvers.context import Context
from compass.resolvers.schema import build_schema
from compass.resolvers.state import AppState

__all__ = ["create_app", "GRAPHQL_PATHS"]

GRAPHQL_PATHS = ("/graphql", "/director/graphql", "/connector/graphql")


class CompassGraphQL(GraphQL):
    async def get_context(self, request: Any, response: Any) -> Context:
        return Context(request, request.app.state.compass)


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


def _outbox_handlers(sessions: Any, http: httpx.AsyncClient) -> dict[str, Handler]:
    return {FETCH_KIND: SpecFetcher(sessions, http)}


def create_app(
    settings: Settings, http_transport: httpx.AsyncBaseTransport | None = None
) -> Starlette:
    """`http_transport` replaces the network for outgoing calls (tests)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(settings.sqlalchemy_url())
        sessions = create_session_factory(engine)
        key = load_or_create_signing_key(settings.jwt_key_path())
        http = httpx.AsyncClient(
            transport=http_transport, timeout=settings.http_timeout, follow_redirects=True
        )
        outbox = OutboxWorker(sessions, _outbox_handlers(sessions, http))
        authority = CertificateAuthority.load_or_create(
            settings.data_dir, settings.ca_cert, settings.ca_key
        )
        authenticator = Authenticator(settings, TokenVerifier(settings, key), authority)
        app.state.compass = AppState(
            settings, engine, sessions, authenticator, outbox, http, authority, key
        )
        await ensure_default_tenant(sessions)
        outbox.start()
        try:
            yield
        finally:
            await outbox.stop()
            await http.aclose()
            await engine.dispose()

    graphql = CompassGraphQL(build_schema())
    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/oauth2/token", token_endpoint, methods=["POST"]),
    ]
    routes += [Route(path, graphql) for path in GRAPHQL_PATHS]
    return Starlette(routes=routes, lifespan=lifespan)
