"""Dataloaders for webhook deliveries and their attempts."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING

import strawberry
from strawberry.dataloader import DataLoader

from compass.notifications.delivery_log import DeliveryLog
from compass.notifications.model import WebhookAttemptRow, WebhookDeliveryRow
from compass.schema.scalars import JSON, Timestamp
from compass.schema.webhook_delivery import (
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookDeliveryStatus,
)

if TYPE_CHECKING:
    from compass.resolvers.context import Context

__all__ = ["WebhookLoaders", "delivery_to_type"]


def _attempt_to_type(row: WebhookAttemptRow) -> WebhookDeliveryAttempt:
    return WebhookDeliveryAttempt(
        at=Timestamp(row.at),
        http_status=row.http_status,
        error=row.error,
        duration_ms=row.duration_ms,
    )


def delivery_to_type(
    row: WebhookDeliveryRow, attempts: Sequence[WebhookAttemptRow]
) -> WebhookDelivery:
    return WebhookDelivery(
        id=strawberry.ID(row.id),
        event_type=row.event_type,
        event=JSON(row.event),
        status=WebhookDeliveryStatus(row.status),
        attempts=[_attempt_to_type(a) for a in attempts],
        next_attempt_at=None if row.next_attempt_at is None else Timestamp(row.next_attempt_at),
        created_at=Timestamp(row.created_at),
    )


class WebhookLoaders:
    def __init__(self, context: Context) -> None:
        self._context = context

    @cached_property
    def _deliveries(self) -> DataLoader[str, list[WebhookDelivery]]:
        return DataLoader(self._load_deliveries)

    async def _load_deliveries(self, webhook_ids: Sequence[str]) -> list[list[WebhookDelivery]]:
        tenant_id = await self._context.tenant_id()
        async with self._context.db() as session:
            log = DeliveryLog(session, tenant_id)
            found = await log.recent(webhook_ids)
            attempts = await log.attempts([d.id for rows in found.values() for d in rows])
        return [
            [delivery_to_type(d, attempts.get(d.id, [])) for d in found.get(i, [])]
            for i in webhook_ids
        ]

    async def webhook_deliveries(self, webhook_id: str) -> list[WebhookDelivery]:
        return await self._deliveries.load(webhook_id)
