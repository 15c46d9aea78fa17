from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from compass.domain.columns import ID_LENGTH, TableModel, id_field, tenant_field, timestamp_field


class ScenarioAssignmentRow(TableModel, table=True):
    """Automatic scenario assignment: runtimes whose label `selector_key`
    equals `selector_value` get `scenario`."""

    __tablename__ = "scenario_assignments"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "scenario", name="uq_scenario_assignments_scenario"),
        sa.Index("ix_scenario_assignments_page", "tenant_id", "created_at", "id"),
    )

    id: str = id_field()
    tenant_id: str = tenant_field()
    scenario: str = Field(sa_column=sa.Column(sa.String(128), nullable=False))
    selector_key: str = Field(sa_column=sa.Column(sa.String(256), nullable=False))
    selector_value: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    created_at: datetime = timestamp_field()


class ScenarioGrantRow(TableModel, table=True):
    """A scenario that an assignment (the tenant's one for `scenario`) added to a
    runtime's `scenarios` label, and will take away when its selector stops
    matching. A scenario the runtime had before, by hand, has no grant."""

    __tablename__ = "scenario_assignment_grants"
    __table_args__ = (sa.Index("ix_scenario_assignment_grants_scenario", "tenant_id", "scenario"),)

    runtime_id: str = Field(
        sa_column=sa.Column(
            sa.String(ID_LENGTH),
            sa.ForeignKey("runtimes.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    scenario: str = Field(sa_column=sa.Column(sa.String(128), primary_key=True))
    tenant_id: str = tenant_field()
