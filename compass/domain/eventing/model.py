from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Field

from compass.domain.columns import TableModel, parent_field, tenant_field


class DefaultEventingRow(TableModel, table=True):
    """The runtime whose event gateway an application publishes to by choice."""

    __tablename__ = "default_eventing"

    app_id: str = Field(
        sa_column=sa.Column(
            sa.String(36),
            sa.ForeignKey("applications.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    tenant_id: str = tenant_field()
    runtime_id: str = parent_field("runtimes")
