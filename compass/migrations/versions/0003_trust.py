"""System auths, one-time tokens and issued certificates.

Revision ID: 0003_trust
Revises: 0002_bundles_and_automation
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from compass.db import UTCDateTime

revision = "0003_trust"
down_revision = "0002_bundles_and_automation"
branch_labels = None
depends_on = None


def _fk(name: str, table: str, nullable: bool = False) -> sa.Column:
    return sa.Column(
        name, sa.String(36), sa.ForeignKey(f"{table}.id", ondelete="CASCADE"), nullable=nullable
    )


def upgrade() -> None:
    op.create_table(
        "system_auths",
        sa.Column("id", sa.String(36), primary_key=True),
        _fk("tenant_id", "tenants", nullable=True),
        _fk("app_id", "applications", nullable=True),
        _fk("runtime_id", "runtimes", nullable=True),
        _fk("integration_system_id", "integration_systems", nullable=True),
        sa.Column("client_secret_hash", sa.String(128), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_system_auths_app", "system_auths", ["app_id"])
    op.create_index("ix_system_auths_runtime", "system_auths", ["runtime_id"])
    op.create_index("ix_system_auths_integration_system", "system_auths", ["integration_system_id"])
    op.create_table(
        "one_time_tokens",
        sa.Column("id", sa.String(36), primary_key=True),
        _fk("system_auth_id", "system_auths"),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "certificates",
        sa.Column("serial", sa.String(64), primary_key=True),
        _fk("system_auth_id", "system_auths"),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("not_after", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_certificates_system_auth", "certificates", ["system_auth_id"])


def downgrade() -> None:
    op.drop_table("certificates")
    op.drop_table("one_time_tokens")
    op.drop_table("system_auths")
