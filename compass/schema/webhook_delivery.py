"""What administrators see of webhook notifications: deliveries and attempts."""

from __future__ import annotations

import enum

import strawberry

from compass.schema.scalars import JSON, Timestamp

__all__ = ["WebhookDelivery", "WebhookDeliveryAttempt", "WebhookDeliveryStatus"]


@strawberry.enum
class WebhookDeliveryStatus(enum.Enum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.type(description="One POST to the webhook.")
class WebhookDeliveryAttempt:
    at: Timestamp
    http_status: int | None = strawberry.field(description="None when no answer came.")
    error: str | None
    duration_ms: int


@strawberry.type(description="One event for one webhook, retried until delivered or failed.")
class WebhookDelivery:
    id: strawberry.ID = strawberry.field(description="Sent as the `webhook-id` header.")
    event_type: str
    event: JSON = strawberry.field(description="The JSON body, as sent.")
    status: WebhookDeliveryStatus
    attempts: list[WebhookDeliveryAttempt]
    next_attempt_at: Timestamp | None
    created_at: Timestamp
