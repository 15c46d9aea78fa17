from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from compass.db import JSONText
from compass.domain.columns import TableModel, id_field, text_field, timestamp_field
from compass.domain.integration_system.model import creator_tenant_field


class ApplicationTemplateRow(TableModel, table=True):
    """Templates are global (access level GLOBAL): every tenant may use them; only
    the creating tenant's administrators (or those of every tenant) change them."""

    __tablename__ = "application_templates"
    __table_args__ = (sa.Index("ix_application_templates_page", "created_at", "id"),)

    id: str = id_field()
    name: str = Field(sa_column=sa.Column(sa.String(100), nullable=False, unique=True))
    description: str | None = text_field()
    application_input: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    placeholders: Any = Field(sa_column=sa.Column(JSONText(), nullable=False))
    access_level: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    created_at: datetime = timestamp_field()
    created_by_tenant_id: str | None = creator_tenant_field()
