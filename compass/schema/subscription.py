"""What live subscribers receive: the body a webhook would get, plus its main fields."""

from __future__ import annotations

import strawberry

from compass.schema.scalars import JSON, Timestamp

__all__ = ["ConfigurationEvent"]


@strawberry.type(description="Something in an application's or a runtime's configuration changed.")
class ConfigurationEvent:
    id: strawberry.ID
    type: str = strawberry.field(
        description="RUNTIME_CONNECTED, RUNTIME_JOINED_SCENARIO, RUNTIME_LEFT_SCENARIO, "
        "RUNTIME_EVENT_URL_CHANGED, RUNTIME_UNREGISTERED, DEFAULT_EVENTING_CHANGED, "
        "BUNDLE_INSTANCE_AUTH_REQUESTED, BUNDLE_INSTANCE_AUTH_RELEASED or "
        "APPLICATION_CONFIGURATION_CHANGED."
    )
    time: Timestamp
    application_id: strawberry.ID | None = strawberry.field(name="applicationID")
    runtime_id: strawberry.ID | None = strawberry.field(name="runtimeID")
    body: JSON = strawberry.field(description="The whole event as JSON, as webhooks get it.")
