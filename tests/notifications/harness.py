"""The real app, with webhook deliveries run by the test instead of its worker:
a fake clock, and `deliver()` runs every delivery due now, so retries and
delivery windows are tested without sleeping. GraphQL helpers for webhooks,
their signing secrets and deliveries."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import httpx

from compass.app import create_app
from compass.config import Settings
from compass.notifications.deliveries import WebhookDeliverer
from compass.notifications.events import DELIVERY_KIND
from compass.notifications.worker import OutboxWorker
from compass.resolvers.state import AppState
from tests.conftest import Api

__all__ = [
    "ADD_WEBHOOK",
    "DELIVERIES",
    "Clock",
    "Harness",
    "add_webhook",
    "deliveries_of",
    "driven_app",
    "events_of",
    "parse_time",
]

ADD_WEBHOOK = """mutation($app: ID!, $in: WebhookInput!) {
  addWebhook(applicationID: $app, in: $in) { id url signingSecret } }"""
DELIVERIES = """query($id: ID!) { application(id: $id) { webhooks { id deliveries {
  id eventType event status nextAttemptAt createdAt
  attempts { at httpStatus error durationMs } } } } }"""
# Passes of the worker `deliver()` makes at most: bounds a test that went wrong.
MAX_PASSES = 50


class Clock:
    """Starts a second after the real time (rows are written with the real time)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Harness:
    api: Api
    state: AppState
    clock: Clock
    deliverer: WebhookDeliverer
    worker: OutboxWorker

    async def deliver(self) -> int:
        """Runs the deliveries due at the fake time until none is left; how many ran."""
        total = 0
        for _ in range(MAX_PASSES):
            ran = await self.worker.run_once()
            if not ran:
                return total
            total += ran
        raise AssertionError(f"deliveries still due after {MAX_PASSES} passes")


@asynccontextmanager
async def driven_app(
    settings: Settings, window: timedelta = timedelta(hours=24), **updates: Any
) -> AsyncIterator[Harness]:
    """The app with `updates` to its settings; requests come from 127.0.0.1
    (a trusted proxy may forward client certificates from there)."""
    app = create_app(settings.model_copy(update=updates))
    clock = Clock()
    # Outbox rows become due at the fake time too (a retry's row `delay` after "now").
    with mock.patch("compass.notifications.outbox.utcnow", clock):
        async with _started(app, settings, clock, window) as harness:
            yield harness


@asynccontextmanager
async def _started(
    app: Any, settings: Settings, clock: Clock, window: timedelta
) -> AsyncIterator[Harness]:
    async with app.router.lifespan_context(app):
        state: AppState = app.state.compass
        await state.outbox.stop()  # the test runs the outbox itself
        deliverer = WebhookDeliverer(
            state.sessions, state.http, state.secret_box, window=window, clock=clock
        )
        worker = OutboxWorker(state.sessions, {DELIVERY_KIND: deliverer}, clock=clock)
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://compass.test") as client:
            api = Api(client, settings)
            api.token = api.mint()
            yield Harness(api, state, clock, deliverer, worker)


async def add_webhook(
    api: Api, application_id: str, url: str, auth: dict[str, Any] | None = None, **kw: Any
) -> dict[str, Any]:
    """A CONFIGURATION_CHANGED webhook: {id, url, signingSecret}."""
    webhook: dict[str, Any] = {"type": "CONFIGURATION_CHANGED", "url": url}
    if auth is not None:
        webhook["auth"] = auth
    return (await api.data(ADD_WEBHOOK, {"app": application_id, "in": webhook}, **kw))["addWebhook"]


async def deliveries_of(api: Api, application_id: str, **kw: Any) -> list[dict[str, Any]]:
    """The deliveries of all the application's webhooks, oldest first, with each
    `event` decoded (the JSON scalar is a string)."""
    application = (await api.data(DELIVERIES, {"id": application_id}, **kw))["application"]
    found = [
        {**d, "event": json.loads(d["event"])}
        for webhook in application["webhooks"] or []
        for d in webhook["deliveries"]
    ]
    return sorted(found, key=lambda d: parse_time(d["createdAt"]))


async def events_of(api: Api, application_id: str, **kw: Any) -> list[tuple[str, Any]]:
    """(type, runtime name or None) of each event for the application, oldest first."""
    return [
        (d["eventType"], d["event"].get("runtime", {}).get("name"))
        for d in await deliveries_of(api, application_id, **kw)
    ]


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
