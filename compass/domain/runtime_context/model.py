from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from compass.domain.columns import TableModel, id_field, parent_field, tenant_field, timestamp_field


class RuntimeContextRow(TableModel, table=True):
    __tablename__ = "runtime_contexts"
    __table_args__ = (
        sa.Index("ix_runtime_contexts_page", "tenant_id", "created_at", "id"),
        sa.Index("ix_runtime_contexts_runtime", "runtime_id"),
    )

    id: str = id_field()
    tenant_id: str = tenant_field()
    runtime_id: str = parent_field("runtimes")
    key: str = Field(sa_column=sa.Column(sa.String(512), nullable=False))
    value: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    created_at: datetime = timestamp_field()
