"""Configuration events for applications: what concerns them, written in the
transaction of the change that caused it, and delivered after commit.

Each event becomes one delivery per `CONFIGURATION_CHANGED` webhook of the
application (see `deliveries`), and is offered to live subscribers."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from compass.db import utcnow
from compass.domain.application.model import WebhookRow
from compass.notifications.live import stage_live_event, topic
from compass.notifications.model import WebhookDeliveryRow
from compass.notifications.outbox import enqueue

__all__ = [
    "DELIVERY_KIND",
    "EventType",
    "configuration_event",
    "notify_application",
    "publish_application_change",
]

DELIVERY_KIND = "webhook.delivery"
CONFIGURATION_CHANGED = "CONFIGURATION_CHANGED"
PENDING = "PENDING"


class EventType(enum.Enum):
    RUNTIME_CONNECTED = "RUNTIME_CONNECTED"
    RUNTIME_JOINED_SCENARIO = "RUNTIME_JOINED_SCENARIO"
    RUNTIME_LEFT_SCENARIO = "RUNTIME_LEFT_SCENARIO"
    RUNTIME_EVENT_URL_CHANGED = "RUNTIME_EVENT_URL_CHANGED"
    RUNTIME_UNREGISTERED = "RUNTIME_UNREGISTERED"
    DEFAULT_EVENTING_CHANGED = "DEFAULT_EVENTING_CHANGED"
    BUNDLE_INSTANCE_AUTH_REQUESTED = "BUNDLE_INSTANCE_AUTH_REQUESTED"
    BUNDLE_INSTANCE_AUTH_RELEASED = "BUNDLE_INSTANCE_AUTH_RELEASED"
    # Live subscriptions only: the application's registry content changed.
    APPLICATION_CONFIGURATION_CHANGED = "APPLICATION_CONFIGURATION_CHANGED"


def configuration_event(
    tenant_id: str, application_id: str, event_type: EventType, concerned: dict[str, Any]
) -> dict[str, Any]:
    """The body every receiver gets: `concerned` holds the objects involved,
    e.g. {"runtime": {"id", "name"}, "bundleID", "instanceAuthID"}."""
    return {
        "id": str(uuid.uuid4()),
        "type": event_type.value,
        "time": utcnow().isoformat().replace("+00:00", "Z"),
        "tenant": tenant_id,
        "applicationID": application_id,
        **concerned,
    }


async def notify_application(
    session: AsyncSession,
    tenant_id: str,
    application_id: str,
    event_type: EventType,
    concerned: dict[str, Any],
) -> dict[str, Any]:
    """Writes the deliveries of one event in the caller's transaction."""
    event = configuration_event(tenant_id, application_id, event_type, concerned)
    webhooks = await session.scalars(
        sa.select(WebhookRow.id).where(
            WebhookRow.tenant_id == tenant_id,
            WebhookRow.application_id == application_id,
            WebhookRow.type == CONFIGURATION_CHANGED,
        )
    )
    now = utcnow()
    for webhook_id in webhooks:
        delivery = WebhookDeliveryRow(
            tenant_id=tenant_id,
            webhook_id=webhook_id,
            event_type=event_type.value,
            event=event,
            status=PENDING,
            next_attempt_at=now,
        )
        session.add(delivery)
        await session.flush()
        await enqueue(session, DELIVERY_KIND, {"delivery_id": delivery.id})
    await stage_live_event(session, topic(tenant_id, "application", application_id), event)
    runtime = concerned.get("runtime")
    if isinstance(runtime, dict) and runtime.get("id"):
        await stage_live_event(session, topic(tenant_id, "runtime", runtime["id"]), event)
    return event


async def publish_application_change(
    session: AsyncSession,
    tenant_id: str,
    application_id: str,
    operation: str,
    runtime_ids: Iterable[str],
) -> None:
    """Tells live subscribers of the application, and of the runtimes that share
    it, that `operation` changed its configuration (no webhook: the change
    came from the application or its administrators)."""
    event = configuration_event(
        tenant_id,
        application_id,
        EventType.APPLICATION_CONFIGURATION_CHANGED,
        {"operation": operation},
    )
    await stage_live_event(session, topic(tenant_id, "application", application_id), event)
    for runtime_id in sorted(set(runtime_ids)):
        await stage_live_event(session, topic(tenant_id, "runtime", runtime_id), event)
