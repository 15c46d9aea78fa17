"""Webhooks: endpoints of an application that Compass calls when something
concerning it changes. Each belongs to one application of the tenant."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from compass.domain.application.commands import WebhookCommand
from compass.domain.application.model import WebhookRow
from compass.domain.application.repository import ApplicationRepository
from compass.errors import NotFound

__all__ = ["WebhookService"]


class WebhookService:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.applications = ApplicationRepository(session, tenant_id)

    async def add(self, application_id: str, command: WebhookCommand) -> WebhookRow:
        if await self.applications.get(application_id) is None:
            raise NotFound.of("application", application_id)
        return await self.applications.add_webhook(
            WebhookRow(
                tenant_id=self.tenant_id,
                application_id=application_id,
                type=command.type,
                url=command.url,
                auth=command.auth,
            )
        )

    async def update(self, webhook_id: str, command: WebhookCommand) -> WebhookRow:
        """Type, URL and auth as given: an update without auth removes it."""
        row = await self.get_existing(webhook_id)
        row.type = command.type
        row.url = command.url
        row.auth = command.auth
        await self.applications.save_webhook(row)
        return row

    async def delete(self, webhook_id: str) -> WebhookRow:
        row = await self.get_existing(webhook_id)
        await self.applications.delete_webhook(row)
        return row

    async def get_existing(self, webhook_id: str) -> WebhookRow:
        row = await self.applications.get_webhook(webhook_id)
        if row is None:
            raise NotFound.of("webhook", webhook_id)
        return row
