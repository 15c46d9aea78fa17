from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Annotated

import strawberry

from compass.domain.application.model import WebhookRow
from compass.domain.application.webhooks import WebhookService
from compass.notifications.delivery_log import DeliveryLog
from compass.resolvers.context import Context
from compass.resolvers.convert import webhook_to_type
from compass.resolvers.inputs import webhook_command
from compass.resolvers.loaders import WEBHOOK_SECRETS_SCOPE
from compass.resolvers.webhook_loaders import delivery_to_type
from compass.schema.application import Webhook, WebhookInput
from compass.schema.webhook_delivery import WebhookDelivery

Info = strawberry.Info[Context, None]
In = Annotated[WebhookInput, strawberry.argument(name="in")]
WebhookID = Annotated[strawberry.ID, strawberry.argument(name="webhookID")]


async def _to_type(info: Info, row: WebhookRow, signing_secret: str | None = None) -> Webhook:
    """Credentials only for callers allowed to read them, as on `Application.webhooks`."""
    principal = await info.context.principal()
    webhook = webhook_to_type(row, WEBHOOK_SECRETS_SCOPE in principal.scopes)
    webhook.signing_secret = signing_secret
    return webhook


def webhook_service(info: Info) -> partial[WebhookService]:
    return partial(WebhookService, box=info.context.state.secret_box)


@strawberry.type
class WebhookMutation:
    @strawberry.mutation
    async def add_webhook(
        self,
        info: Info,
        application_id: Annotated[strawberry.ID, strawberry.argument(name="applicationID")],
        in_: In,
    ) -> Webhook:
        command = webhook_command(in_)
        row, secret = await info.context.run(
            webhook_service(info), lambda service: service.add(application_id, command)
        )
        return await _to_type(info, row, secret)

    @strawberry.mutation(description="Replaces type, URL and auth (no auth given removes it).")
    async def update_webhook(self, info: Info, webhook_id: WebhookID, in_: In) -> Webhook:
        command = webhook_command(in_)
        row = await info.context.run(
            WebhookService, lambda service: service.update(webhook_id, command)
        )
        return await _to_type(info, row)

    @strawberry.mutation
    async def delete_webhook(self, info: Info, webhook_id: WebhookID) -> Webhook:
        row = await info.context.run(WebhookService, lambda service: service.delete(webhook_id))
        return await _to_type(info, row)

    @strawberry.mutation(
        description="A new signing secret for the webhook, shown only in this answer; "
        "the old one stops signing at once."
    )
    async def rotate_webhook_signing_secret(self, info: Info, webhook_id: WebhookID) -> Webhook:
        row, secret = await info.context.run(
            webhook_service(info), lambda service: service.rotate_secret(webhook_id)
        )
        return await _to_type(info, row, secret)

    @strawberry.mutation(description="Sends a failed notification again, with a new window.")
    async def retry_webhook_delivery(self, info: Info, id: strawberry.ID) -> WebhookDelivery:
        window = timedelta(hours=info.context.state.settings.webhook_delivery_hours)
        row = await info.context.run(DeliveryLog, lambda log: log.retry(id, window))
        return delivery_to_type(row, [])
