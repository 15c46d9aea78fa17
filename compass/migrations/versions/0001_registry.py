"""Tenants and the Director registry: applications, webhooks, runtimes,
runtime contexts, labels and label definitions.

Revision ID: 0001_registry
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from compass.db import JSONText, UTCDateTime

revision = "0001_registry"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.String(36), primary_key=True)


def _fk(name: str, table: str, nullable: bool = False) -> sa.Column:
    return sa.Column(
        name, sa.String(36), sa.ForeignKey(f"{table}.id", ondelete="CASCADE"), nullable=nullable
    )


def _created_at() -> sa.Column:
    return sa.Column("created_at", UTCDateTime(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "tenants",
        _id(),
        sa.Column("external_id", sa.String(256), nullable=False, unique=True),
        sa.Column("name", sa.String(256), nullable=False),
        _created_at(),
    )
    op.create_table(
        "applications",
        _id(),
        _fk("tenant_id", "tenants"),
        sa.Column("name", sa.String(36), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("provider_name", sa.String(256), nullable=True),
        sa.Column("health_check_url", sa.String(256), nullable=True),
        sa.Column("integration_system_id", sa.String(36), nullable=True),
        sa.Column("status_condition", sa.String(32), nullable=False),
        sa.Column("status_timestamp", UTCDateTime(), nullable=False),
        _created_at(),
        sa.UniqueConstraint("tenant_id", "name", name="uq_applications_tenant_name"),
    )
    op.create_index("ix_applications_page", "applications", ["tenant_id", "created_at", "id"])
    op.create_table(
        "webhooks",
        _id(),
        _fk("tenant_id", "tenants"),
        _fk("application_id", "applications"),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("url", sa.String(256), nullable=False),
        sa.Column("auth", JSONText(), nullable=True),
        _created_at(),
    )
    op.create_index("ix_webhooks_application", "webhooks", ["application_id"])
    op.create_table(
        "runtimes",
        _id(),
        _fk("tenant_id", "tenants"),
        sa.Column("name", sa.String(36), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status_condition", sa.String(32), nullable=False),
        sa.Column("status_timestamp", UTCDateTime(), nullable=False),
        _created_at(),
        sa.UniqueConstraint("tenant_id", "name", name="uq_runtimes_tenant_name"),
    )
    op.create_index("ix_runtimes_page", "runtimes", ["tenant_id", "created_at", "id"])
    op.create_table(
        "runtime_contexts",
        _id(),
        _fk("tenant_id", "tenants"),
        _fk("runtime_id", "runtimes"),
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        _created_at(),
    )
    op.create_index(
        "ix_runtime_contexts_page", "runtime_contexts", ["tenant_id", "created_at", "id"]
    )
    op.create_index("ix_runtime_contexts_runtime", "runtime_contexts", ["runtime_id"])
    op.create_table(
        "labels",
        _id(),
        _fk("tenant_id", "tenants"),
        sa.Column("key", sa.String(256), nullable=False),
        sa.Column("value", JSONText(), nullable=False),
        _fk("app_id", "applications", nullable=True),
        _fk("runtime_id", "runtimes", nullable=True),
        _fk("runtime_context_id", "runtime_contexts", nullable=True),
        sa.UniqueConstraint("key", "app_id", name="uq_labels_app_key"),
        sa.UniqueConstraint("key", "runtime_id", name="uq_labels_runtime_key"),
        sa.UniqueConstraint("key", "runtime_context_id", name="uq_labels_runtime_context_key"),
    )
    op.create_index("ix_labels_tenant_key", "labels", ["tenant_id", "key"])
    op.create_index("ix_labels_app", "labels", ["app_id"])
    op.create_index("ix_labels_runtime", "labels", ["runtime_id"])
    op.create_index("ix_labels_runtime_context", "labels", ["runtime_context_id"])
    op.create_table(
        "label_definitions",
        _id(),
        _fk("tenant_id", "tenants"),
        sa.Column("key", sa.String(256), nullable=False),
        sa.Column("schema", JSONText(), nullable=True),
        sa.UniqueConstraint("tenant_id", "key", name="uq_label_definitions_tenant_key"),
    )


def downgrade() -> None:
    for table in (
        "label_definitions",
        "labels",
        "runtime_contexts",
        "runtimes",
        "webhooks",
        "applications",
        "tenants",
    ):
        op.drop_table(table)
