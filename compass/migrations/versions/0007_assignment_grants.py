"""Scenario assignment grants: which scenarios an assignment added to a runtime.

Revision ID: 0007_assignment_grants
Revises: 0006_bundle_instance_auths
Create Date: 2026-12-03

Scenarios runtimes hold already count as set by hand: nothing is taken away
that an earlier version added.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_assignment_grants"
down_revision = "0006_bundle_instance_auths"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scenario_assignment_grants",
        sa.Column(
            "runtime_id",
            sa.String(36),
            sa.ForeignKey("runtimes.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("scenario", sa.String(128), primary_key=True),
        sa.Column(
            "tenant_id",
            sa.String(36),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
    )
    op.create_index(
        "ix_scenario_assignment_grants_scenario",
        "scenario_assignment_grants",
        ["tenant_id", "scenario"],
    )


def downgrade() -> None:
    op.drop_table("scenario_assignment_grants")
