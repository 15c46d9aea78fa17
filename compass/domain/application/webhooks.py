"""Webhooks: endpoints of an application that Compass calls when something
concerning it changes. Each belongs to one application of the tenant."""

from __future__ import annotations

import base64
import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from compass.domain.application.commands import WebhookCommand
from compass.domain.application.model import WebhookRow
from compass.domain.application.repository import ApplicationRepository
from compass.errors import InvalidOperation, NotFound
from compass.pki.secret_box import SecretBox

__all__ = ["WebhookService", "new_signing_secret"]


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookService:
    """`box` seals signing secrets; without one, webhooks get none (and are
    delivered unsigned)."""

    def __init__(self, session: AsyncSession, tenant_id: str, box: SecretBox | None = None) -> None:
        self.tenant_id = tenant_id
        self.applications = ApplicationRepository(session, tenant_id)
        self.box = box

    async def add(self, application_id: str, command: WebhookCommand) -> tuple[WebhookRow, str]:
        """The new webhook and its signing secret, which only this answer shows."""
        if await self.applications.get(application_id) is None:
            raise NotFound.of("application", application_id)
        row, secret = self.new_row(application_id, command)
        return await self.applications.add_webhook(row), secret

    def new_row(self, application_id: str, command: WebhookCommand) -> tuple[WebhookRow, str]:
        secret = new_signing_secret()
        row = WebhookRow(
            tenant_id=self.tenant_id,
            application_id=application_id,
            type=command.type,
            url=command.url,
            auth=command.auth,
            signing_secret=None if self.box is None else self.box.seal(secret),
        )
        return row, secret

    async def rotate_secret(self, webhook_id: str) -> tuple[WebhookRow, str]:
        """A new signing secret; the old one stops signing at once."""
        if self.box is None:
            raise InvalidOperation("webhook signing secrets cannot be kept without a key")
        row = await self.get_existing(webhook_id)
        secret = new_signing_secret()
        row.signing_secret = self.box.seal(secret)
        await self.applications.save_webhook(row)
        return row, secret

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
