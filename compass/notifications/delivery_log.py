"""Reading and retrying webhook deliveries (the administrators' view)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from compass.db import utcnow
from compass.domain.repository import TenantRepository
from compass.errors import InvalidOperation, NotFound
from compass.notifications.deliveries import FAILED, PENDING
from compass.notifications.events import DELIVERY_KIND
from compass.notifications.model import WebhookAttemptRow, WebhookDeliveryRow
from compass.notifications.outbox import enqueue

__all__ = ["DeliveryLog", "RECENT_DELIVERIES"]

RECENT_DELIVERIES = 20


class DeliveryLog(TenantRepository[WebhookDeliveryRow]):
    row_type = WebhookDeliveryRow

    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        super().__init__(session, tenant_id)

    async def recent(
        self, webhook_ids: Sequence[str], limit: int = RECENT_DELIVERIES
    ) -> dict[str, list[WebhookDeliveryRow]]:
        """The newest `limit` deliveries of each webhook, newest first."""
        if not webhook_ids:
            return {}
        rank = (
            sa.func.row_number()
            .over(
                partition_by=WebhookDeliveryRow.webhook_id,
                order_by=(WebhookDeliveryRow.created_at.desc(), WebhookDeliveryRow.id.desc()),
            )
            .label("rank")
        )
        ranked = (
            sa.select(WebhookDeliveryRow.id, rank)
            .where(
                WebhookDeliveryRow.tenant_id == self.tenant_id,
                WebhookDeliveryRow.webhook_id.in_(list(webhook_ids)),
            )
            .subquery()
        )
        rows = await self.session.scalars(
            self._base()
            .join(ranked, ranked.c.id == WebhookDeliveryRow.id)
            .where(ranked.c.rank <= limit)
            .order_by(WebhookDeliveryRow.created_at.desc(), WebhookDeliveryRow.id.desc())
        )
        found: dict[str, list[WebhookDeliveryRow]] = {}
        for row in rows:
            found.setdefault(row.webhook_id, []).append(row)
        return found

    async def attempts(self, delivery_ids: Sequence[str]) -> dict[str, list[WebhookAttemptRow]]:
        if not delivery_ids:
            return {}
        rows = await self.session.scalars(
            sa.select(WebhookAttemptRow)
            .where(WebhookAttemptRow.delivery_id.in_(list(delivery_ids)))
            .order_by(WebhookAttemptRow.at, WebhookAttemptRow.id)
        )
        found: dict[str, list[WebhookAttemptRow]] = {}
        for row in rows:
            found.setdefault(row.delivery_id, []).append(row)
        return found

    async def retry(self, delivery_id: str, window: timedelta) -> WebhookDeliveryRow:
        """A failed delivery starts over, with a new delivery window from now."""
        row = await self.get(delivery_id)
        if row is None:
            raise NotFound.of("webhook delivery", delivery_id)
        if row.status != FAILED:
            raise InvalidOperation(
                f"only failed deliveries can be retried; this one is {row.status}"
            )
        now = utcnow()
        row.status, row.next_attempt_at, row.deliver_until = PENDING, now, now + window
        await self.session.flush()
        await enqueue(self.session, DELIVERY_KIND, {"delivery_id": row.id})
        return row
