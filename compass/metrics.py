"""Prometheus metrics: what happened in this process, and what the database holds.

Counters of events (GraphQL operations, one-time tokens, certificates, webhook
attempts) live in this process; the domain code calls the small `record_*`
functions below, so it stays free of Prometheus. Gauges of state (outbox
depth, runtimes and applications by status, agents' last call) are read from
the database at scrape time, bounded by SCRAPE_TIMEOUT, so that every replica
reports the same shared truth.

When `PROMETHEUS_MULTIPROC_DIR` is set (prometheus-client's own variable,
read by the library when it is imported) the counters are kept in files there
and /metrics adds up those of every process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from strawberry.types.graphql import OperationType

from compass.db import utcnow
from compass.domain.application.model import ApplicationRow
from compass.domain.runtime.model import RuntimeRow
from compass.notifications.model import OutboxRow

__all__ = [
    "METRICS_PATH",
    "record_execution",
    "metrics_app",
    "metrics_endpoint",
    "operation_label",
    "record_certificate",
    "record_operation",
    "record_token",
    "record_webhook_attempt",
    "record_webhook_failed",
]

log = logging.getLogger("compass.metrics")

METRICS_PATH = "/metrics"
SCRAPE_TIMEOUT = 2.0
# Operation names are chosen by clients: cut, and at most this many distinct ones
# per process, so a client cannot grow the series without bound.
OPERATION_NAME_LIMIT = 64
MAX_OPERATION_NAMES = 100
_GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")

GRAPHQL_REQUESTS = Counter(
    "compass_graphql_requests",
    "GraphQL queries and mutations by operation name and result (ok or the error code).",
    ["operation", "result"],
)
GRAPHQL_DURATION = Histogram(
    "compass_graphql_request_duration_seconds",
    "Time to run a GraphQL query or mutation, by operation name.",
    ["operation"],
)
TOKENS = Counter(
    "compass_one_time_tokens",
    "One-time tokens issued (by purpose: CONNECTOR pairs, CSR signs), redeemed or refused.",
    ["event", "purpose"],
)
CERTIFICATES = Counter(
    "compass_client_certificates",
    "Client certificates issued (with a token), renewed (by their holder) or revoked.",
    ["event"],
)
WEBHOOK_ATTEMPTS = Counter(
    "compass_webhook_delivery_attempts",
    "Webhook delivery attempts by result (ok, error).",
    ["result"],
)
WEBHOOK_FAILURES = Counter(
    "compass_webhook_deliveries_failed",
    "Webhook deliveries given up (FAILED) after their delivery window.",
)

_operation_names: set[str] = set()


# Recording, called where the events happen.


def record_token(event: str, purpose: str = "") -> None:
    """`event`: issued, redeemed or refused; `purpose` only for issued tokens."""
    TOKENS.labels(event=event, purpose=purpose).inc()


def record_certificate(event: str) -> None:
    """`event`: issued, renewed or revoked."""
    CERTIFICATES.labels(event=event).inc()


def record_webhook_attempt(ok: bool) -> None:
    WEBHOOK_ATTEMPTS.labels(result="ok" if ok else "error").inc()


def record_webhook_failed() -> None:
    WEBHOOK_FAILURES.inc()


def operation_label(name: str | None) -> str:
    """The client's operation name as a label: "anonymous" without one, "other"
    for anything that is no GraphQL name or beyond MAX_OPERATION_NAMES."""
    if not name:
        return "anonymous"
    name = name[:OPERATION_NAME_LIMIT]
    if not _GRAPHQL_NAME.fullmatch(name):
        return "other"
    if name not in _operation_names:
        if len(_operation_names) >= MAX_OPERATION_NAMES:
            return "other"
        _operation_names.add(name)
    return name


def record_operation(name: str | None, result: str, seconds: float) -> None:
    operation = operation_label(name)
    GRAPHQL_REQUESTS.labels(operation=operation, result=result).inc()
    GRAPHQL_DURATION.labels(operation=operation).observe(seconds)


def _result_of(errors: list[Any] | None) -> str:
    """`ok`, the Compass error code of the first error, or `invalid_document`
    for parse and validation errors, which carry no code."""
    if not errors:
        return "ok"
    code = (errors[0].extensions or {}).get("error_code")
    return "invalid_document" if code is None else str(code)


def record_execution(context: Any, seconds: float) -> None:
    """Counts and times a query or mutation (`context`: strawberry's execution
    context), with its errors as the client sees them. Subscriptions are left
    out: their duration is the client's choice."""
    if context.graphql_document is not None:
        try:
            if context.operation_type == OperationType.SUBSCRIPTION:
                return
        except RuntimeError:  # the operation name matches no operation
            pass
    errors = getattr(context.result, "errors", None)
    record_operation(context.operation_name, _result_of(errors), seconds)


# The database at scrape time.


@dataclass
class DatabaseState:
    """What the gauges show; `up` is False when the database did not answer."""

    up: bool = False
    outbox: list[tuple[str, int, datetime]] = field(default_factory=list)
    runtimes: dict[str, int] = field(default_factory=dict)
    applications: dict[str, int] = field(default_factory=dict)
    agents: dict[str, int] = field(default_factory=dict)
    oldest_agent_call: datetime | None = None


async def _by_status(session: AsyncSession, table: Any) -> dict[str, int]:
    rows = await session.execute(
        sa.select(table.status_condition, sa.func.count()).group_by(table.status_condition)
    )
    return {status: count for status, count in rows}


async def _agents(
    session: AsyncSession, quiet_since: datetime
) -> tuple[dict[str, int], datetime | None]:
    """Runtimes by their agent's connection, and the oldest last call."""
    seen = RuntimeRow.last_seen_at
    quiet = sa.func.sum(sa.case((seen < quiet_since, 1), else_=0))
    total, called, disconnected, oldest = (
        await session.execute(
            sa.select(sa.func.count(), sa.func.count(seen), quiet, sa.func.min(seen))
        )
    ).one()
    disconnected = disconnected or 0
    agents = {
        "pending": total - called,
        "connected": called - disconnected,
        "disconnected": disconnected,
    }
    return agents, oldest


async def read_database_state(
    sessions: async_sessionmaker[AsyncSession], disconnected_after: timedelta
) -> DatabaseState:
    state = DatabaseState()
    try:
        async with asyncio.timeout(SCRAPE_TIMEOUT), sessions() as session:
            outbox = await session.execute(
                sa.select(OutboxRow.kind, sa.func.count(), sa.func.min(OutboxRow.created_at))
                .group_by(OutboxRow.kind)
                .order_by(OutboxRow.kind)
            )
            state.outbox = [(kind, count, oldest) for kind, count, oldest in outbox]
            state.runtimes = await _by_status(session, RuntimeRow)
            state.applications = await _by_status(session, ApplicationRow)
            quiet_since = utcnow() - disconnected_after
            state.agents, state.oldest_agent_call = await _agents(session, quiet_since)
    except (TimeoutError, sa.exc.SQLAlchemyError, OSError) as error:
        log.warning("metrics: the database did not answer (%s)", type(error).__name__)
        return DatabaseState()
    state.up = True
    return state


def _gauge(name: str, documentation: str, labels: list[str], values: dict[str, float]) -> Metric:
    gauge = GaugeMetricFamily(name, documentation, labels=labels)
    for label, value in sorted(values.items()):
        gauge.add_metric([label], value)
    return gauge


class DatabaseCollector:
    """Gauges of one DatabaseState, for a registry of one scrape."""

    def __init__(self, state: DatabaseState, now: datetime) -> None:
        self.state = state
        self.now = now

    def _age(self, moment: datetime) -> float:
        return max(0.0, (self.now - moment).total_seconds())

    def collect(self) -> Iterator[Metric]:
        state = self.state
        yield GaugeMetricFamily(
            "compass_database_up", "1 when the database answered this scrape.", int(state.up)
        )
        if not state.up:
            return
        depth = {kind: count for kind, count, _ in state.outbox}
        ages = {kind: self._age(oldest) for kind, _, oldest in state.outbox}
        yield _gauge("compass_outbox_rows", "Side effects waiting in the outbox.", ["kind"], depth)
        yield _gauge(
            "compass_outbox_oldest_age_seconds",
            "Age of the oldest side effect waiting in the outbox.",
            ["kind"],
            ages,
        )
        yield _gauge("compass_runtimes", "Runtimes by status.", ["status"], state.runtimes)
        yield _gauge(
            "compass_applications", "Applications by status.", ["status"], state.applications
        )
        yield _gauge(
            "compass_runtime_agents",
            "Runtimes by their agent's connection: pending (never called), connected, "
            "disconnected (no call for agent_disconnected_after_seconds).",
            ["connection"],
            state.agents,
        )
        if state.oldest_agent_call is not None:
            yield GaugeMetricFamily(
                "compass_runtime_agent_last_seen_max_age_seconds",
                "Seconds since the call of the agent that has been quiet the longest.",
                self._age(state.oldest_agent_call),
            )


# The endpoint.


def _process_metrics() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


async def _scrape(compass: Any) -> Response:
    disconnected_after = timedelta(seconds=compass.settings.agent_disconnected_after_seconds)
    state = await read_database_state(compass.sessions, disconnected_after)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(state, utcnow()))
    body = _process_metrics() + generate_latest(registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


async def metrics_endpoint(request: Request) -> Response:
    return await _scrape(request.app.state.compass)


def metrics_app(main: Starlette) -> Starlette:
    """/metrics alone, for a listener of its own; it reads the state of `main`,
    whose lifespan runs around both."""

    async def endpoint(_request: Request) -> Response:
        return await _scrape(main.state.compass)

    return Starlette(routes=[Route(METRICS_PATH, endpoint)])
