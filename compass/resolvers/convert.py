"""Small converters between table rows, GraphQL types and commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import strawberry

from compass.db import dump_json
from compass.domain.application.model import ApplicationRow, WebhookRow
from compass.domain.application_template.model import ApplicationTemplateRow
from compass.domain.bundle.model import (
    APIDefinitionRow,
    BundleRow,
    DocumentRow,
    EventDefinitionRow,
    FetchRequestRow,
)
from compass.domain.integration_system.model import IntegrationSystemRow
from compass.domain.label.model import LabelDefinitionRow
from compass.domain.pagination import Page
from compass.domain.runtime.model import RuntimeRow
from compass.domain.runtime_context.model import RuntimeContextRow
from compass.domain.system_auth.model import SystemAuthRow
from compass.domain.tenant.model import TenantRow
from compass.resolvers.auth_inputs import EXTRA_FIELDS
from compass.schema import auth as auth_types
from compass.schema.application import (
    Application,
    ApplicationStatus,
    ApplicationStatusCondition,
    ApplicationWebhookType,
    Webhook,
)
from compass.schema.application_template import (
    ApplicationTemplate,
    ApplicationTemplateAccessLevel,
    PlaceholderDefinition,
)
from compass.schema.bundle import (
    APIDefinition,
    APISpec,
    APISpecType,
    Bundle,
    Document,
    DocumentFormat,
    EventDefinition,
    EventSpec,
    EventSpecType,
    FetchMode,
    FetchRequest,
    FetchRequestStatus,
    FetchRequestStatusCondition,
    SpecFormat,
    Version,
)
from compass.schema.common import PageInfo
from compass.schema.integration_system import IntegrationSystem
from compass.schema.label import LabelDefinition
from compass.schema.runtime import (
    Runtime,
    RuntimeContext,
    RuntimeMetadata,
    RuntimeStatus,
    RuntimeStatusCondition,
)
from compass.schema.scalars import JSONSchema, PageCursor, Timestamp
from compass.schema.system_auth import SystemAuth
from compass.schema.tenant import Tenant

__all__ = [
    "api_definition_to_type",
    "application_template_to_type",
    "application_to_type",
    "bundle_to_type",
    "document_to_type",
    "event_definition_to_type",
    "fetch_request_to_type",
    "auth_from_dict",
    "integration_system_to_type",
    "label_definition_to_type",
    "page_of",
    "runtime_context_to_type",
    "runtime_to_type",
    "system_auth_to_type",
    "tenant_to_type",
    "webhook_to_type",
]


def page_of(page_type: type, page: Page[Any], convert: Callable[[Any], Any]) -> Any:
    return page_type(
        data=[convert(item) for item in page.items],
        page_info=PageInfo(
            start_cursor=PageCursor(page.start_cursor),
            end_cursor=PageCursor(page.end_cursor),
            has_next_page=page.has_next,
        ),
        total_count=page.total,
    )


def application_to_type(row: ApplicationRow) -> Application:
    return Application(
        id=strawberry.ID(row.id),
        name=row.name,
        provider_name=row.provider_name,
        description=row.description,
        integration_system_id=row.integration_system_id,
        status=ApplicationStatus(
            condition=ApplicationStatusCondition(row.status_condition),
            timestamp=Timestamp(row.status_timestamp),
        ),
        health_check_url=row.health_check_url,
    )


def _credential(data: dict[str, Any] | None) -> Any:
    if not data:
        return None
    if basic := data.get("basic"):
        return auth_types.BasicCredentialData(
            username=basic["username"], password=basic["password"]
        )
    if oauth := data.get("oauth"):
        return auth_types.OAuthCredentialData(
            client_id=oauth["clientId"], client_secret=oauth["clientSecret"], url=oauth["url"]
        )
    return None


def _extras(data: dict[str, Any]) -> dict[str, Any]:
    """Both forms of the additional headers and query parameters, whichever was stored."""
    result: dict[str, Any] = {}
    for name, serialized_name in EXTRA_FIELDS:
        value, text = data.get(name), data.get(serialized_name)
        if value is None and isinstance(text, str):
            try:
                value = json.loads(text)
            except ValueError:
                value = None
        if text is None and value is not None:
            text = dump_json(value)
        result[_snake(name)] = value
        result[_snake(serialized_name)] = text
    return result


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def auth_from_dict(data: dict[str, Any] | None) -> auth_types.Auth | None:
    """Stored auth (the input's JSON form) back into the output type."""
    if not data:
        return None
    csrf = (data.get("requestAuth") or {}).get("csrf")
    request_auth = None
    if csrf:
        request_auth = auth_types.CredentialRequestAuth(
            csrf=auth_types.CSRFTokenCredentialRequestAuth(
                token_endpoint_url=csrf["tokenEndpointURL"],
                credential=_credential(csrf.get("credential")),
                **_extras(csrf),
            )
        )
    return auth_types.Auth(
        credential=_credential(data.get("credential")),
        **_extras(data),
        request_auth=request_auth,
    )


def webhook_to_type(row: WebhookRow, with_auth: bool) -> Webhook:
    return Webhook(
        id=strawberry.ID(row.id),
        application_id=strawberry.ID(row.application_id),
        type=ApplicationWebhookType(row.type),
        url=row.url,
        auth=auth_from_dict(row.auth) if with_auth else None,
    )


def runtime_to_type(row: RuntimeRow) -> Runtime:
    return Runtime(
        id=strawberry.ID(row.id),
        name=row.name,
        description=row.description,
        status=RuntimeStatus(
            condition=RuntimeStatusCondition(row.status_condition),
            timestamp=Timestamp(row.status_timestamp),
            runtime_id=row.id,
        ),
        metadata=RuntimeMetadata(creation_timestamp=Timestamp(row.created_at)),
    )


def runtime_context_to_type(row: RuntimeContextRow) -> RuntimeContext:
    return RuntimeContext(id=strawberry.ID(row.id), key=row.key, value=row.value)


def integration_system_to_type(row: IntegrationSystemRow) -> IntegrationSystem:
    return IntegrationSystem(id=strawberry.ID(row.id), name=row.name, description=row.description)


def application_template_to_type(row: ApplicationTemplateRow) -> ApplicationTemplate:
    return ApplicationTemplate(
        id=strawberry.ID(row.id),
        name=row.name,
        description=row.description,
        application_input=row.application_input,
        placeholders=[
            PlaceholderDefinition(name=p["name"], description=p.get("description"))
            for p in row.placeholders
        ],
        access_level=ApplicationTemplateAccessLevel(row.access_level),
    )


def label_definition_to_type(row: LabelDefinitionRow) -> LabelDefinition:
    schema = None if row.schema_ is None else JSONSchema(_json_text(row.schema_))
    return LabelDefinition(key=row.key, schema=schema)


def _json_text(value: Any) -> str:
    return json.dumps(value)


def tenant_to_type(row: TenantRow) -> Tenant:
    return Tenant(
        id=strawberry.ID(row.external_id),
        internal_id=strawberry.ID(row.id),
        name=row.name,
        initialized=True,
    )


def _version(row: Any) -> Version | None:
    if row.version_value is None:
        return None
    return Version(
        value=row.version_value,
        deprecated=row.version_deprecated,
        deprecated_since=row.version_deprecated_since,
        for_removal=row.version_for_removal,
    )


def api_definition_to_type(row: APIDefinitionRow) -> APIDefinition:
    spec = None
    if row.spec_type is not None:
        spec = APISpec(
            data=row.spec_data,
            format=SpecFormat(row.spec_format),
            type=APISpecType(row.spec_type),
            owner_id=row.id,
        )
    return APIDefinition(
        id=strawberry.ID(row.id),
        name=row.name,
        description=row.description,
        spec=spec,
        target_url=row.target_url,
        group=row.group_name,
        version=_version(row),
    )


def event_definition_to_type(row: EventDefinitionRow) -> EventDefinition:
    spec = None
    if row.spec_type is not None:
        spec = EventSpec(
            data=row.spec_data,
            type=EventSpecType(row.spec_type),
            format=SpecFormat(row.spec_format),
            owner_id=row.id,
        )
    return EventDefinition(
        id=strawberry.ID(row.id),
        name=row.name,
        description=row.description,
        group=row.group_name,
        spec=spec,
        version=_version(row),
    )


def document_to_type(row: DocumentRow) -> Document:
    return Document(
        id=strawberry.ID(row.id),
        title=row.title,
        display_name=row.display_name,
        description=row.description,
        format=DocumentFormat(row.format),
        kind=row.kind,
        data=row.data,
    )


def fetch_request_to_type(row: FetchRequestRow) -> FetchRequest:
    return FetchRequest(
        url=row.url,
        credentials=auth_from_dict(row.auth),
        mode=FetchMode(row.mode),
        filter=row.filter,
        status=FetchRequestStatus(
            condition=FetchRequestStatusCondition(row.status_condition),
            message=row.status_message,
            timestamp=Timestamp(row.status_timestamp),
        ),
    )


def bundle_to_type(row: BundleRow) -> Bundle:
    schema = row.instance_auth_request_input_schema
    return Bundle(
        id=strawberry.ID(row.id),
        name=row.name,
        description=row.description,
        instance_auth_request_input_schema=None if schema is None else _json_text(schema),
        default_credentials=auth_from_dict(row.default_instance_auth),
    )


def system_auth_to_type(row: SystemAuthRow, token_url: str, secret: str = "") -> SystemAuth:
    """OAuth clients show their client ID and token URL; the secret only on creation."""
    if row.client_secret_hash is None:
        return SystemAuth(id=strawberry.ID(row.id), auth=None)
    credential = auth_types.OAuthCredentialData(
        client_id=strawberry.ID(row.id), client_secret=secret, url=token_url
    )
    return SystemAuth(id=strawberry.ID(row.id), auth=auth_types.Auth(credential=credential))
