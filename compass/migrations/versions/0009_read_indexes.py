"""Indexes that match the label loaders' queries, and planner statistics.

Revision ID: 0009_read_indexes
Revises: 0008_integration_system_tenants
Create Date: 2026-12-05

The label loaders ask `tenant_id = ? AND <owner> IN (...) ORDER BY key`. With
only `(tenant_id, key)` and `(<owner>)` to choose from, SQLite without
statistics takes the first and reads every label of the tenant; an index on
`(tenant_id, <owner>, key)` answers the query as it is asked, in order.
ANALYZE then gives both planners statistics of the data already there.
"""

from alembic import op

revision = "0009_read_indexes"
down_revision = "0008_integration_system_tenants"
branch_labels = None
depends_on = None

_OWNERS = {"app": "app_id", "runtime": "runtime_id", "runtime_context": "runtime_context_id"}


def upgrade() -> None:
    for name, column in _OWNERS.items():
        op.create_index(f"ix_labels_tenant_{name}", "labels", ["tenant_id", column, "key"])
    op.execute("ANALYZE")


def downgrade() -> None:
    for name in _OWNERS:
        op.drop_index(f"ix_labels_tenant_{name}", table_name="labels")
