"""Webhook signing secrets and the deliveries of configuration events.

Revision ID: 0005_webhook_deliveries
Revises: 0004_provisioner
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from compass.db import UTCDateTime

revision = "0005_webhook_deliveries"
down_revision = "0004_provisioner"
branch_labels = None
depends_on = None


def _fk(name: str, table: str) -> sa.Column:
    return sa.Column(
        name, sa.String(36), sa.ForeignKey(f"{table}.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.add_column("webhooks", sa.Column("signing_secret", sa.Text(), nullable=True))
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(36), primary_key=True),
        _fk("tenant_id", "tenants"),
        _fk("webhook_id", "webhooks"),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("deliver_until", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_webhook_deliveries_webhook", "webhook_deliveries", ["webhook_id", "created_at"]
    )
    op.create_table(
        "webhook_delivery_attempts",
        sa.Column("id", sa.String(36), primary_key=True),
        _fk("delivery_id", "webhook_deliveries"),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_webhook_delivery_attempts_delivery",
        "webhook_delivery_attempts",
        ["delivery_id", "at"],
    )


def downgrade() -> None:
    op.drop_table("webhook_delivery_attempts")
    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("signing_secret")
