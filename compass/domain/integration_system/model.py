from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from compass.domain.columns import id_field, text_field, timestamp_field


class IntegrationSystemRow(SQLModel, table=True):
    """Integration systems act for many tenants, so they belong to none."""

    __tablename__ = "integration_systems"
    __table_args__ = (sa.Index("ix_integration_systems_page", "created_at", "id"),)

    id: str = id_field()
    name: str = Field(sa_column=sa.Column(sa.String(36), nullable=False, unique=True))
    description: str | None = text_field()
    created_at: datetime = timestamp_field()
