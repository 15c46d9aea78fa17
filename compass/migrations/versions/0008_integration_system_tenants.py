"""Integration systems act in the tenants they were granted.

Revision ID: 0008_integration_system_tenants
Revises: 0007_assignment_grants
Create Date: 2026-12-04

Integration systems and templates registered before this revision count as
created by an administrator of every tenant, and their systems keep the
tenants whose applications name them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_integration_system_tenants"
down_revision = "0007_assignment_grants"
branch_labels = None
depends_on = None

_CREATED_BY = ("integration_systems", "application_templates")


def _fk(name: str, table: str) -> sa.Column:
    return sa.Column(
        name, sa.String(36), sa.ForeignKey(f"{table}.id", ondelete="CASCADE"), primary_key=True
    )


def upgrade() -> None:
    op.create_table(
        "integration_system_tenants",
        _fk("integration_system_id", "integration_systems"),
        _fk("tenant_id", "tenants"),
    )
    op.create_index(
        "ix_integration_system_tenants_tenant", "integration_system_tenants", ["tenant_id"]
    )
    for table in _CREATED_BY:
        op.add_column(table, sa.Column("created_by_tenant_id", sa.String(36), nullable=True))
    op.create_index(
        "ix_applications_integration_system",
        "applications",
        ["integration_system_id", "tenant_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_applications_integration_system", table_name="applications")
    for table in _CREATED_BY:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("created_by_tenant_id")
    op.drop_table("integration_system_tenants")
