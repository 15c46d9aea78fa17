"""Integration systems act in the tenants they were granted.

Revision ID: 0008_integration_system_tenants
Revises: 0007_assignment_grants
Create Date: 2026-12-04
"""

revision = "0008_integration_system_tenants"
down_revision = "0007_assignment_grants"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
