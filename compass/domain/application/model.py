from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from compass.domain.columns import (
    TableModel,
    id_field,
    parent_field,
    tenant_field,
    text_field,
    timestamp_field,
)
from compass.pki.secret_box import sealed_json_field


class ApplicationRow(TableModel, table=True):
    __tablename__ = "applications"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "name", name="uq_applications_tenant_name"),
        sa.Index("ix_applications_page", "tenant_id", "created_at", "id"),
        # Where an integration system acts: the tenants of applications naming it.
        sa.Index("ix_applications_integration_system", "integration_system_id", "tenant_id"),
    )

    id: str = id_field()
    tenant_id: str = tenant_field()
    name: str = Field(sa_column=sa.Column(sa.String(36), nullable=False))
    description: str | None = text_field()
    provider_name: str | None = text_field(256)
    health_check_url: str | None = text_field(256)
    integration_system_id: str | None = text_field(36)
    status_condition: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    status_timestamp: datetime = timestamp_field()
    created_at: datetime = timestamp_field()


class WebhookRow(TableModel, table=True):
    __tablename__ = "webhooks"
    __table_args__ = (sa.Index("ix_webhooks_application", "application_id"),)

    id: str = id_field()
    tenant_id: str = tenant_field()
    application_id: str = parent_field("applications")
    type: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    url: str = Field(sa_column=sa.Column(sa.String(256), nullable=False))
    auth: Any = sealed_json_field()
    # Standard Webhooks signing secret, encrypted with the secret box.
    signing_secret: str | None = text_field()
    created_at: datetime = timestamp_field()
