from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from compass.db import UTCDateTime
from compass.domain.columns import TableModel, id_field, tenant_field, text_field, timestamp_field


class RuntimeRow(TableModel, table=True):
    __tablename__ = "runtimes"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "name", name="uq_runtimes_tenant_name"),
        sa.Index("ix_runtimes_page", "tenant_id", "created_at", "id"),
    )

    id: str = id_field()
    tenant_id: str = tenant_field()
    name: str = Field(sa_column=sa.Column(sa.String(36), nullable=False))
    description: str | None = text_field()
    status_condition: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    status_timestamp: datetime = timestamp_field()
    created_at: datetime = timestamp_field()
    # When the runtime (its agent) last called, refreshed at most every few seconds.
    last_seen_at: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )
