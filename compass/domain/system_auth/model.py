"""System auths: the credentials of applications, runtimes and integration systems.

One row per one-time-token pairing (later the certificate whose CN is the
row's ID) or per OAuth client. Deleting the row ends everything it
authorised: certificates and client tokens are checked against it on every
request.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from compass.db import UTCDateTime
from compass.domain.columns import TableModel, id_field, parent_field, text_field, timestamp_field


class SystemAuthRow(TableModel, table=True):
    __tablename__ = "system_auths"
    __table_args__ = (
        sa.Index("ix_system_auths_app", "app_id"),
        sa.Index("ix_system_auths_runtime", "runtime_id"),
        sa.Index("ix_system_auths_integration_system", "integration_system_id"),
    )

    id: str = id_field()
    # Integration systems serve many tenants: their auths belong to none.
    tenant_id: str | None = parent_field("tenants", nullable=True)
    app_id: str | None = parent_field("applications", nullable=True)
    runtime_id: str | None = parent_field("runtimes", nullable=True)
    integration_system_id: str | None = parent_field("integration_systems", nullable=True)
    client_secret_hash: str | None = text_field(128)
    created_at: datetime = timestamp_field()


class OneTimeTokenRow(TableModel, table=True):
    """Tokens are stored as SHA-256 hashes; redeeming one is a single
    conditional UPDATE, so a token works once even under concurrent use."""

    __tablename__ = "one_time_tokens"

    id: str = id_field()
    system_auth_id: str = parent_field("system_auths")
    token_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    purpose: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    expires_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    created_at: datetime = timestamp_field()


class CertificateRow(TableModel, table=True):
    """Every client certificate issued, so that revocation reaches every replica."""

    __tablename__ = "certificates"
    __table_args__ = (sa.Index("ix_certificates_system_auth", "system_auth_id"),)

    serial: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    system_auth_id: str = parent_field("system_auths")
    fingerprint: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    not_after: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    created_at: datetime = timestamp_field()
