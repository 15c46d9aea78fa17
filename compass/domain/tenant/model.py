from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from compass.domain.columns import TableModel, id_field, timestamp_field


class TenantRow(TableModel, table=True):
    __tablename__ = "tenants"

    id: str = id_field()
    external_id: str = Field(sa_column=sa.Column(sa.String(256), nullable=False, unique=True))
    name: str = Field(sa_column=sa.Column(sa.String(256), nullable=False))
    created_at: datetime = timestamp_field()
