"""Bundle instance auths: the credentials one runtime holds for one bundle's APIs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from compass.domain.columns import (
    TableModel,
    id_field,
    json_field,
    parent_field,
    tenant_field,
    text_field,
    timestamp_field,
)

__all__ = ["BundleInstanceAuthRow"]


class BundleInstanceAuthRow(TableModel, table=True):
    """`auth` holds the credentials sealed by the secret box, never plain JSON.
    Deleting the bundle, the runtime or the runtime context deletes the row."""

    __tablename__ = "bundle_instance_auths"
    __table_args__ = (
        sa.Index("ix_bundle_instance_auths_bundle", "bundle_id", "created_at", "id"),
        sa.Index("ix_bundle_instance_auths_runtime", "runtime_id"),
    )

    id: str = id_field()
    tenant_id: str = tenant_field()
    bundle_id: str = parent_field("bundles")
    runtime_id: str = parent_field("runtimes")
    runtime_context_id: str | None = parent_field("runtime_contexts", nullable=True)
    context: Any = json_field()
    input_params: Any = json_field()
    auth: str | None = text_field()
    # Credentials copied from the bundle's defaultInstanceAuth: nothing for the
    # application to revoke, so a deletion request removes the row at once.
    from_default: bool = Field(default=False, sa_column=sa.Column(sa.Boolean(), nullable=False))
    status_condition: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    status_message: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    status_reason: str = Field(sa_column=sa.Column(sa.String(128), nullable=False))
    status_timestamp: datetime = timestamp_field()
    created_at: datetime = timestamp_field()
