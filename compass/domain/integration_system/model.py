from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from compass.domain.columns import ID_LENGTH, TableModel, id_field, text_field, timestamp_field


def creator_tenant_field() -> Any:
    """The tenant whose bound administrator created a global object (None: an
    administrator of every tenant did). No foreign key: the record of who may
    change the object must not fall back to "anyone" if the tenant goes."""
    return text_field(ID_LENGTH)


class IntegrationSystemRow(TableModel, table=True):
    """Integration systems act for many tenants, so they belong to none; they
    act only in the tenants that granted them (see IntegrationSystemTenantRow)."""

    __tablename__ = "integration_systems"
    __table_args__ = (sa.Index("ix_integration_systems_page", "created_at", "id"),)

    id: str = id_field()
    name: str = Field(sa_column=sa.Column(sa.String(36), nullable=False, unique=True))
    description: str | None = text_field()
    created_at: datetime = timestamp_field()
    created_by_tenant_id: str | None = creator_tenant_field()


class IntegrationSystemTenantRow(TableModel, table=True):
    """A tenant in which an integration system may act, granted by the tenant's
    administrator who registered it. Applications of a tenant that name the
    system grant that tenant too, for as long as they name it (read from the
    applications, not recorded here)."""

    __tablename__ = "integration_system_tenants"
    __table_args__ = (sa.Index("ix_integration_system_tenants_tenant", "tenant_id"),)

    integration_system_id: str = Field(
        sa_column=sa.Column(
            sa.String(ID_LENGTH),
            sa.ForeignKey("integration_systems.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    tenant_id: str = Field(
        sa_column=sa.Column(
            sa.String(ID_LENGTH),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
