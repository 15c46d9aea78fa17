"""Applications: external systems with APIs and events."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import strawberry

from compass.resolvers.execution import PLAIN_READ
from compass.resolvers.selection import selected_names
from compass.schema.auth import Auth, AuthInput
from compass.schema.bundle import Bundle, BundleCreateInput, BundlePage
from compass.schema.common import Pageable, PageInfo
from compass.schema.eventing import ApplicationEventingConfiguration
from compass.schema.scalars import Labels, PageCursor, Timestamp
from compass.schema.system_auth import SystemAuth
from compass.schema.webhook_delivery import WebhookDelivery

if TYPE_CHECKING:
    from compass.resolvers.context import Context

__all__ = [
    "Application",
    "ApplicationPage",
    "ApplicationRegisterInput",
    "ApplicationStatus",
    "ApplicationStatusCondition",
    "ApplicationUpdateInput",
    "ApplicationWebhookType",
    "Webhook",
    "WebhookInput",
]


@strawberry.enum
class ApplicationStatusCondition(enum.Enum):
    INITIAL = "INITIAL"
    CONNECTED = "CONNECTED"
    FAILED = "FAILED"


@strawberry.enum
class ApplicationWebhookType(enum.Enum):
    CONFIGURATION_CHANGED = "CONFIGURATION_CHANGED"


@strawberry.type
class ApplicationStatus:
    condition: ApplicationStatusCondition
    timestamp: Timestamp


@strawberry.type(description="An endpoint of the application that Compass calls on changes.")
class Webhook:
    id: strawberry.ID
    application_id: strawberry.ID = strawberry.field(name="applicationID")
    type: ApplicationWebhookType
    url: str
    auth: Auth | None = None
    signing_secret: str | None = strawberry.field(
        default=None,
        description="The Standard Webhooks secret (whsec_...) that signs its requests; shown "
        "only by addWebhook and rotateWebhookSigningSecret.",
    )

    @strawberry.field(description="The newest notifications sent to it, newest first.")
    async def deliveries(self, info: strawberry.Info[Context, None]) -> list[WebhookDelivery]:
        return await info.context.loaders.webhook_deliveries(self.id)


@strawberry.type(description="An external system whose APIs and events runtimes consume.")
class Application:
    id: strawberry.ID
    name: str
    provider_name: str | None
    description: str | None
    integration_system_id: strawberry.ID | None = strawberry.field(name="integrationSystemID")
    status: ApplicationStatus
    health_check_url: str | None = strawberry.field(name="healthCheckURL")

    # Not `async`, like eventingConfiguration: a page of applications may have
    # read it already (the loader returns an awaitable otherwise).
    @strawberry.field(
        description="The application's labels, or only the one with `key`.", metadata=PLAIN_READ
    )
    def labels(self, info: strawberry.Info[Context, None], key: str | None = None) -> Labels | None:
        return info.context.loaders.application_labels(self.id, key)

    @strawberry.field
    async def webhooks(self, info: strawberry.Info[Context, None]) -> list[Webhook] | None:
        return await info.context.loaders.application_webhooks(self.id)

    @strawberry.field
    async def bundles(
        self,
        info: strawberry.Info[Context, None],
        first: int | None = 200,
        after: PageCursor | None = None,
    ) -> BundlePage | None:
        contents = selected_names(info, "data")
        return await info.context.loaders.bundles(self.id, first, after, contents)

    @strawberry.field
    async def bundle(
        self, info: strawberry.Info[Context, None], id: strawberry.ID
    ) -> Bundle | None:
        return await info.context.loaders.bundle(self.id, id)

    @strawberry.field(description="Credentials: certificate pairings and OAuth clients.")
    async def auths(self, info: strawberry.Info[Context, None]) -> list[SystemAuth] | None:
        return await info.context.loaders.application_auths(self.id)

    @strawberry.field(metadata=PLAIN_READ)
    def eventing_configuration(
        self, info: strawberry.Info[Context, None]
    ) -> ApplicationEventingConfiguration | None:
        return info.context.loaders.application_eventing(self.id)


@strawberry.type
class ApplicationPage(Pageable):
    data: list[Application]
    page_info: PageInfo
    total_count: int


@strawberry.input
class WebhookInput:
    type: ApplicationWebhookType
    url: str
    auth: AuthInput | None = None


@strawberry.input
class ApplicationRegisterInput:
    name: str
    provider_name: str | None = None
    description: str | None = None
    labels: Labels | None = None
    webhooks: list[WebhookInput] | None = None
    health_check_url: str | None = strawberry.field(default=None, name="healthCheckURL")
    bundles: list[BundleCreateInput] | None = None
    integration_system_id: strawberry.ID | None = strawberry.field(
        default=None, name="integrationSystemID"
    )
    status_condition: ApplicationStatusCondition | None = None


@strawberry.input
class ApplicationUpdateInput:
    provider_name: str | None = None
    description: str | None = None
    health_check_url: str | None = strawberry.field(default=None, name="healthCheckURL")
    integration_system_id: strawberry.ID | None = strawberry.field(
        default=None, name="integrationSystemID"
    )
    status_condition: ApplicationStatusCondition | None = None
