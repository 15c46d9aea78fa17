"""Bundle instance auths: credentials runtimes obtain for bundles.

Revision ID: 0006_bundle_instance_auths
Revises: 0005_webhook_deliveries
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from compass.db import UTCDateTime

revision = "0006_bundle_instance_auths"
down_revision = "0005_webhook_deliveries"
branch_labels = None
depends_on = None


def _fk(name: str, table: str, nullable: bool = False) -> sa.Column:
    return sa.Column(
        name, sa.String(36), sa.ForeignKey(f"{table}.id", ondelete="CASCADE"), nullable=nullable
    )


def upgrade() -> None:
    op.create_table(
        "bundle_instance_auths",
        sa.Column("id", sa.String(36), primary_key=True),
        _fk("tenant_id", "tenants"),
        _fk("bundle_id", "bundles"),
        _fk("runtime_id", "runtimes"),
        _fk("runtime_context_id", "runtime_contexts", nullable=True),
        sa.Column("context", sa.Text(), nullable=True),
        sa.Column("input_params", sa.Text(), nullable=True),
        # Sealed with the secret box.
        sa.Column("auth", sa.Text(), nullable=True),
        sa.Column("from_default", sa.Boolean(), nullable=False),
        sa.Column("status_condition", sa.String(16), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=False),
        sa.Column("status_reason", sa.String(128), nullable=False),
        sa.Column("status_timestamp", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_bundle_instance_auths_bundle",
        "bundle_instance_auths",
        ["bundle_id", "created_at", "id"],
    )
    op.create_index("ix_bundle_instance_auths_runtime", "bundle_instance_auths", ["runtime_id"])


def downgrade() -> None:
    op.drop_table("bundle_instance_auths")
