"""The provisioner's runtimes and operations; when a runtime last called.

Revision ID: 0004_provisioner
Revises: 0003_trust
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from compass.db import UTCDateTime

revision = "0004_provisioner"
down_revision = "0003_trust"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("state IN ('Pending', 'InProgress')")


def upgrade() -> None:
    op.add_column("runtimes", sa.Column("last_seen_at", UTCDateTime(), nullable=True))
    op.create_table(
        "provisioned_runtimes",
        sa.Column("runtime_id", sa.String(36), primary_key=True),
        sa.Column(
            "tenant_id",
            sa.String(36),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("cluster_config", sa.Text(), nullable=True),
        sa.Column("kyma_config", sa.Text(), nullable=True),
        sa.Column("previous_kyma_config", sa.Text(), nullable=True),
        sa.Column("agent_config", sa.Text(), nullable=True),
        sa.Column("supervised", sa.Boolean(), nullable=False),
        sa.Column("supervisor", sa.String(64), nullable=True),
        sa.Column("supervisor_expires_at", UTCDateTime(), nullable=True),
        sa.Column("agent_pid", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "provisioning_operations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "tenant_id",
            sa.String(36),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("runtime_id", sa.String(36), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("deadline", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_provisioning_operations_runtime",
        "provisioning_operations",
        ["runtime_id", "created_at"],
    )
    op.create_index(
        "uq_provisioning_operations_active",
        "provisioning_operations",
        ["runtime_id"],
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )


def downgrade() -> None:
    op.drop_table("provisioning_operations")
    op.drop_table("provisioned_runtimes")
    with op.batch_alter_table("runtimes") as batch:
        batch.drop_column("last_seen_at")
