from __future__ import annotations

from typing import Annotated

import strawberry

from compass.domain.application.model import WebhookRow
from compass.domain.application.webhooks import WebhookService
from compass.resolvers.context import Context
from compass.resolvers.convert import webhook_to_type
from compass.resolvers.inputs import webhook_command
from compass.resolvers.loaders import WEBHOOK_SECRETS_SCOPE
from compass.schema.application import Webhook, WebhookInput

Info = strawberry.Info[Context, None]
In = Annotated[WebhookInput, strawberry.argument(name="in")]
WebhookID = Annotated[strawberry.ID, strawberry.argument(name="webhookID")]


async def _to_type(info: Info, row: WebhookRow) -> Webhook:
    """Credentials only for callers allowed to read them, as on `Application.webhooks`."""
    principal = await info.context.principal()
    return webhook_to_type(row, WEBHOOK_SECRETS_SCOPE in principal.scopes)


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
        row = await info.context.run(
            WebhookService, lambda service: service.add(application_id, command)
        )
        return await _to_type(info, row)

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
