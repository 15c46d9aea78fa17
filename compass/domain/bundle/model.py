"""Bundles and what they hold: API and event definitions, documents, and the
fetch requests that download their specifications."""

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
from compass.pki.secret_box import sealed_json_field


class BundleRow(TableModel, table=True):
    __tablename__ = "bundles"
    __table_args__ = (sa.Index("ix_bundles_app", "app_id", "created_at", "id"),)

    id: str = id_field()
    tenant_id: str = tenant_field()
    app_id: str = parent_field("applications")
    name: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    description: str | None = text_field()
    instance_auth_request_input_schema: Any = json_field()
    default_instance_auth: Any = sealed_json_field()
    created_at: datetime = timestamp_field()


class _DefinitionFields(TableModel):
    """What API and event definitions share: a group, a spec and a version.
    Typed with `sa_type` so that each table gets columns of its own."""

    group_name: str | None = Field(default=None, sa_type=sa.String(36))
    spec_data: str | None = Field(default=None, sa_type=sa.Text())
    spec_type: str | None = Field(default=None, sa_type=sa.String(32))
    spec_format: str | None = Field(default=None, sa_type=sa.String(16))
    version_value: str | None = Field(default=None, sa_type=sa.String(256))
    version_deprecated: bool | None = Field(default=None, sa_type=sa.Boolean())
    version_deprecated_since: str | None = Field(default=None, sa_type=sa.String(256))
    version_for_removal: bool | None = Field(default=None, sa_type=sa.Boolean())


class APIDefinitionRow(_DefinitionFields, table=True):
    __tablename__ = "api_definitions"
    __table_args__ = (sa.Index("ix_api_definitions_bundle", "bundle_id", "created_at", "id"),)

    id: str = id_field()
    tenant_id: str = tenant_field()
    bundle_id: str = parent_field("bundles")
    name: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    description: str | None = text_field()
    target_url: str = Field(sa_column=sa.Column(sa.String(256), nullable=False))
    created_at: datetime = timestamp_field()


class EventDefinitionRow(_DefinitionFields, table=True):
    __tablename__ = "event_definitions"
    __table_args__ = (sa.Index("ix_event_definitions_bundle", "bundle_id", "created_at", "id"),)

    id: str = id_field()
    tenant_id: str = tenant_field()
    bundle_id: str = parent_field("bundles")
    name: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    description: str | None = text_field()
    created_at: datetime = timestamp_field()


class DocumentRow(TableModel, table=True):
    __tablename__ = "documents"
    __table_args__ = (sa.Index("ix_documents_bundle", "bundle_id", "created_at", "id"),)

    id: str = id_field()
    tenant_id: str = tenant_field()
    bundle_id: str = parent_field("bundles")
    title: str = Field(sa_column=sa.Column(sa.String(128), nullable=False))
    display_name: str = Field(sa_column=sa.Column(sa.String(128), nullable=False))
    description: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    format: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    kind: str | None = text_field(256)
    data: str | None = text_field()
    created_at: datetime = timestamp_field()


class FetchRequestRow(TableModel, table=True):
    """Where a spec or document is downloaded from, and how that went. Exactly
    one owner column is set; the owner's deletion removes the request."""

    __tablename__ = "fetch_requests"
    __table_args__ = (
        sa.UniqueConstraint("api_definition_id", name="uq_fetch_requests_api"),
        sa.UniqueConstraint("event_definition_id", name="uq_fetch_requests_event"),
        sa.UniqueConstraint("document_id", name="uq_fetch_requests_document"),
    )

    id: str = id_field()
    tenant_id: str = tenant_field()
    api_definition_id: str | None = parent_field("api_definitions", nullable=True)
    event_definition_id: str | None = parent_field("event_definitions", nullable=True)
    document_id: str | None = parent_field("documents", nullable=True)
    url: str = Field(sa_column=sa.Column(sa.String(256), nullable=False))
    auth: Any = sealed_json_field()
    mode: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    filter: str | None = text_field(256)
    status_condition: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    status_message: str | None = text_field()
    status_timestamp: datetime = timestamp_field()
