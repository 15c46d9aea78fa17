from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from compass.db import JSONText, UTCDateTime
from compass.domain.columns import (
    TableModel,
    id_field,
    parent_field,
    tenant_field,
    text_field,
    timestamp_field,
)


class OutboxRow(TableModel, table=True):
    """A side effect to run after the transaction that wrote it commits.

    Workers claim a row by moving `available_at` forward in one conditional
    UPDATE, so several replicas never run the same row at once; a row whose
    worker died becomes available again when that lease ends."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_available", "available_at"),)

    id: str = id_field()
    kind: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    payload: Any = Field(sa_column=sa.Column(JSONText(), nullable=False))
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False))
    available_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    last_error: str | None = text_field()
    created_at: datetime = timestamp_field()


class WebhookDeliveryRow(TableModel, table=True):
    """One event for one webhook, delivered at least once until `deliver_until`.

    The event body is kept as sent, so every attempt (and a retry asked for
    by an administrator) signs and posts the same bytes under the same
    `webhook-id`, which receivers use to deduplicate."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (sa.Index("ix_webhook_deliveries_webhook", "webhook_id", "created_at"),)

    id: str = id_field()
    tenant_id: str = tenant_field()
    webhook_id: str = parent_field("webhooks")
    event_type: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    event: Any = Field(sa_column=sa.Column(JSONText(), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False))
    next_attempt_at: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )
    # Set by the first attempt (created_at + the delivery window), renewed by a retry.
    deliver_until: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )
    created_at: datetime = timestamp_field()


class WebhookAttemptRow(TableModel, table=True):
    __tablename__ = "webhook_delivery_attempts"
    __table_args__ = (sa.Index("ix_webhook_delivery_attempts_delivery", "delivery_id", "at"),)

    id: str = id_field()
    delivery_id: str = parent_field("webhook_deliveries")
    at: datetime = timestamp_field()
    http_status: int | None = Field(default=None, sa_column=sa.Column(sa.Integer(), nullable=True))
    error: str | None = text_field()
    duration_ms: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
