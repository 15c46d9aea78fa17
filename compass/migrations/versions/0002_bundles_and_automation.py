"""Bundles with API/event definitions, documents and fetch requests;
integration systems, application templates, automatic scenario assignment,
default eventing, and the outbox of side effects.

Revision ID: 0002_bundles_and_automation
Revises: 0001_registry
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from compass.db import JSONText, UTCDateTime

revision = "0002_bundles_and_automation"
down_revision = "0001_registry"
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.String(36), primary_key=True)


def _fk(name: str, table: str, nullable: bool = False, **kw) -> sa.Column:
    return sa.Column(
        name,
        sa.String(36),
        sa.ForeignKey(f"{table}.id", ondelete="CASCADE"),
        nullable=nullable,
        **kw,
    )


def _created_at() -> sa.Column:
    return sa.Column("created_at", UTCDateTime(), nullable=False)


def _definition_columns() -> list[sa.Column]:
    return [
        sa.Column("group_name", sa.String(36), nullable=True),
        sa.Column("spec_data", sa.Text(), nullable=True),
        sa.Column("spec_type", sa.String(32), nullable=True),
        sa.Column("spec_format", sa.String(16), nullable=True),
        sa.Column("version_value", sa.String(256), nullable=True),
        sa.Column("version_deprecated", sa.Boolean(), nullable=True),
        sa.Column("version_deprecated_since", sa.String(256), nullable=True),
        sa.Column("version_for_removal", sa.Boolean(), nullable=True),
        _created_at(),
    ]


def upgrade() -> None:
    op.create_table(
        "integration_systems",
        _id(),
        sa.Column("name", sa.String(36), nullable=False, unique=True),
        sa.Column("description", sa.Text(), nullable=True),
        _created_at(),
    )
    op.create_index("ix_integration_systems_page", "integration_systems", ["created_at", "id"])
    op.create_table(
        "application_templates",
        _id(),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("application_input", sa.Text(), nullable=False),
        sa.Column("placeholders", JSONText(), nullable=False),
        sa.Column("access_level", sa.String(16), nullable=False),
        _created_at(),
    )
    op.create_index("ix_application_templates_page", "application_templates", ["created_at", "id"])
    op.create_table(
        "bundles",
        _id(),
        _fk("tenant_id", "tenants"),
        _fk("app_id", "applications"),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("instance_auth_request_input_schema", JSONText(), nullable=True),
        sa.Column("default_instance_auth", JSONText(), nullable=True),
        _created_at(),
    )
    op.create_index("ix_bundles_app", "bundles", ["app_id", "created_at", "id"])
    op.create_table(
        "api_definitions",
        _id(),
        _fk("tenant_id", "tenants"),
        _fk("bundle_id", "bundles"),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("target_url", sa.String(256), nullable=False),
        *_definition_columns(),
    )
    op.create_index(
        "ix_api_definitions_bundle", "api_definitions", ["bundle_id", "created_at", "id"]
    )
    op.create_table(
        "event_definitions",
        _id(),
        _fk("tenant_id", "tenants"),
        _fk("bundle_id", "bundles"),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        *_definition_columns(),
    )
    op.create_index(
        "ix_event_definitions_bundle", "event_definitions", ["bundle_id", "created_at", "id"]
    )
    op.create_table(
        "documents",
        _id(),
        _fk("tenant_id", "tenants"),
        _fk("bundle_id", "bundles"),
        sa.Column("title", sa.String(128), nullable=False),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(256), nullable=True),
        sa.Column("data", sa.Text(), nullable=True),
        _created_at(),
    )
    op.create_index("ix_documents_bundle", "documents", ["bundle_id", "created_at", "id"])
    op.create_table(
        "fetch_requests",
        _id(),
        _fk("tenant_id", "tenants"),
        _fk("api_definition_id", "api_definitions", nullable=True),
        _fk("event_definition_id", "event_definitions", nullable=True),
        _fk("document_id", "documents", nullable=True),
        sa.Column("url", sa.String(256), nullable=False),
        sa.Column("auth", JSONText(), nullable=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("filter", sa.String(256), nullable=True),
        sa.Column("status_condition", sa.String(16), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column("status_timestamp", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("api_definition_id", name="uq_fetch_requests_api"),
        sa.UniqueConstraint("event_definition_id", name="uq_fetch_requests_event"),
        sa.UniqueConstraint("document_id", name="uq_fetch_requests_document"),
    )
    op.create_table(
        "scenario_assignments",
        _id(),
        _fk("tenant_id", "tenants"),
        sa.Column("scenario", sa.String(128), nullable=False),
        sa.Column("selector_key", sa.String(256), nullable=False),
        sa.Column("selector_value", sa.Text(), nullable=False),
        _created_at(),
        sa.UniqueConstraint("tenant_id", "scenario", name="uq_scenario_assignments_scenario"),
    )
    op.create_index(
        "ix_scenario_assignments_page", "scenario_assignments", ["tenant_id", "created_at", "id"]
    )
    op.create_table(
        "default_eventing",
        _fk("app_id", "applications", primary_key=True),
        _fk("tenant_id", "tenants"),
        _fk("runtime_id", "runtimes"),
    )
    op.create_table(
        "outbox",
        _id(),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("payload", JSONText(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("available_at", UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        _created_at(),
    )
    op.create_index("ix_outbox_available", "outbox", ["available_at"])


def downgrade() -> None:
    for table in (
        "outbox",
        "default_eventing",
        "scenario_assignments",
        "fetch_requests",
        "documents",
        "event_definitions",
        "api_definitions",
        "bundles",
        "application_templates",
        "integration_systems",
    ):
        op.drop_table(table)
