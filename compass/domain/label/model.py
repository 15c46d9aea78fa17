from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from compass.db import JSONText
from compass.domain.columns import TableModel, id_field, json_field, parent_field, tenant_field


class LabelRow(TableModel, table=True):
    """A label belongs to exactly one object; one nullable foreign key per
    object kind lets the database cascade deletes."""

    __tablename__ = "labels"
    __table_args__ = (
        sa.UniqueConstraint("key", "app_id", name="uq_labels_app_key"),
        sa.UniqueConstraint("key", "runtime_id", name="uq_labels_runtime_key"),
        sa.UniqueConstraint("key", "runtime_context_id", name="uq_labels_runtime_context_key"),
        sa.Index("ix_labels_tenant_key", "tenant_id", "key"),
        sa.Index("ix_labels_app", "app_id"),
        sa.Index("ix_labels_runtime", "runtime_id"),
        sa.Index("ix_labels_runtime_context", "runtime_context_id"),
        # What the label loaders ask: one tenant's labels of some objects, by key.
        sa.Index("ix_labels_tenant_app", "tenant_id", "app_id", "key"),
        sa.Index("ix_labels_tenant_runtime", "tenant_id", "runtime_id", "key"),
        sa.Index("ix_labels_tenant_runtime_context", "tenant_id", "runtime_context_id", "key"),
    )

    id: str = id_field()
    tenant_id: str = tenant_field()
    key: str = Field(sa_column=sa.Column(sa.String(256), nullable=False))
    value: Any = Field(sa_column=sa.Column(JSONText(), nullable=False))
    app_id: str | None = parent_field("applications", nullable=True)
    runtime_id: str | None = parent_field("runtimes", nullable=True)
    runtime_context_id: str | None = parent_field("runtime_contexts", nullable=True)


class LabelDefinitionRow(TableModel, table=True):
    __tablename__ = "label_definitions"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "key", name="uq_label_definitions_tenant_key"),
    )

    id: str = id_field()
    tenant_id: str = tenant_field()
    key: str = Field(sa_column=sa.Column(sa.String(256), nullable=False))
    schema_: Any = json_field(name="schema")
