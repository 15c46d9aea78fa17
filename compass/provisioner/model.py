"""Tables of the provisioner: the runtimes it created and their operations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from compass.db import UTCDateTime
from compass.domain.columns import (
    TableModel,
    id_field,
    json_field,
    tenant_field,
    text_field,
    timestamp_field,
)

__all__ = ["ACTIVE_STATES", "OperationRow", "ProvisionedRuntimeRow"]

ACTIVE_STATES = ("Pending", "InProgress")


class ProvisionedRuntimeRow(TableModel, table=True):
    """A runtime the provisioner created, with what it was created from.

    `supervised` says that a local agent should run for it; `supervisor` and
    `supervisor_expires_at` are the lease of the one server process that
    watches that agent, `agent_pid` its process (for adoption after a crash)."""

    __tablename__ = "provisioned_runtimes"

    runtime_id: str = Field(sa_column=sa.Column(sa.String(36), primary_key=True))
    tenant_id: str = tenant_field()
    provider: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    cluster_config: Any = json_field()
    kyma_config: Any = json_field()
    previous_kyma_config: Any = json_field()
    agent_config: Any = json_field()
    supervised: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, default=False)
    )
    supervisor: str | None = text_field(64)
    supervisor_expires_at: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )
    agent_pid: int | None = Field(default=None, sa_column=sa.Column(sa.Integer(), nullable=True))
    created_at: datetime = timestamp_field()


class OperationRow(TableModel, table=True):
    """One asynchronous operation on a runtime: a small state machine.

    `step` names the next thing to do (machine-readable); `message` says to
    users where it stands or why it failed. At most one operation per runtime
    is active: the partial unique index refuses a second one even under a race."""

    __tablename__ = "provisioning_operations"
    __table_args__ = (
        sa.Index("ix_provisioning_operations_runtime", "runtime_id", "created_at"),
        sa.Index(
            "uq_provisioning_operations_active",
            "runtime_id",
            unique=True,
            sqlite_where=sa.text("state IN ('Pending', 'InProgress')"),
            postgresql_where=sa.text("state IN ('Pending', 'InProgress')"),
        ),
    )

    id: str = id_field()
    tenant_id: str = tenant_field()
    runtime_id: str = Field(sa_column=sa.Column(sa.String(36), nullable=False))
    type: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    state: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    step: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    message: str | None = text_field()
    deadline: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
