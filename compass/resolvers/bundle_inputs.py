"""Input conversion for bundles, definitions, documents and fetch requests."""

from __future__ import annotations

from compass.domain.bundle.commands import (
    APIDefinitionCommand,
    BundleCommand,
    DocumentCommand,
    EventDefinitionCommand,
    FetchRequestCommand,
    SpecCommand,
    VersionCommand,
)
from compass.domain.label.service import check_json_schema
from compass.domain.validation import check_max_length, check_printable, check_url
from compass.errors import InvalidData
from compass.resolvers.auth_inputs import auth_to_dict
from compass.schema.bundle import (
    APIDefinitionInput,
    APISpecInput,
    BundleCreateInput,
    BundleUpdateInput,
    DocumentInput,
    EventDefinitionInput,
    EventSpecInput,
    FetchRequestInput,
    VersionInput,
)
from compass.schema.scalars import parse_json_text

__all__ = [
    "api_definition_command",
    "bundle_command",
    "bundle_update_command",
    "document_command",
    "event_definition_command",
]


def _fetch_request(source: FetchRequestInput | None) -> FetchRequestCommand | None:
    if source is None:
        return None
    check_url("fetchRequest url", source.url)
    check_max_length("fetchRequest filter", source.filter, 256)
    mode = source.mode.value if source.mode else "SINGLE"
    return FetchRequestCommand(
        url=source.url, auth=auth_to_dict(source.auth), mode=mode, filter=source.filter
    )


def _spec(source: APISpecInput | EventSpecInput | None) -> SpecCommand | None:
    if source is None:
        return None
    return SpecCommand(
        type=source.type.value,
        format=source.format.value,
        data=source.data,
        fetch_request=_fetch_request(source.fetch_request),
    )


def _version(source: VersionInput | None) -> VersionCommand | None:
    if source is None:
        return None
    check_max_length("version value", source.value, 256)
    check_max_length("version deprecatedSince", source.deprecated_since, 256)
    return VersionCommand(
        value=source.value,
        deprecated=source.deprecated,
        deprecated_since=source.deprecated_since,
        for_removal=source.for_removal,
    )


def _check_definition(source: APIDefinitionInput | EventDefinitionInput) -> None:
    check_printable("name", source.name, 100)
    check_max_length("description", source.description, 2000)
    check_max_length("group", source.group, 36)


def api_definition_command(source: APIDefinitionInput) -> APIDefinitionCommand:
    _check_definition(source)
    check_url("targetURL", source.target_url)
    return APIDefinitionCommand(
        name=source.name,
        target_url=source.target_url,
        description=source.description,
        group=source.group,
        spec=_spec(source.spec),
        version=_version(source.version),
    )


def event_definition_command(source: EventDefinitionInput) -> EventDefinitionCommand:
    _check_definition(source)
    return EventDefinitionCommand(
        name=source.name,
        description=source.description,
        group=source.group,
        spec=_spec(source.spec),
        version=_version(source.version),
    )


def document_command(source: DocumentInput) -> DocumentCommand:
    check_max_length("title", source.title, 128)
    check_max_length("displayName", source.display_name, 128)
    if not (source.description or "").strip():
        raise InvalidData("a document's description is required")
    check_max_length("description", source.description, 2000)
    check_max_length("kind", source.kind, 256)
    return DocumentCommand(
        title=source.title,
        display_name=source.display_name,
        description=source.description,
        format=source.format.value,
        kind=source.kind,
        data=source.data,
        fetch_request=_fetch_request(source.fetch_request),
    )


def _bundle_fields(source: BundleCreateInput | BundleUpdateInput) -> dict:
    check_printable("bundle name", source.name, 100)
    check_max_length("bundle description", source.description, 2000)
    schema = parse_json_text(
        "instanceAuthRequestInputSchema", source.instance_auth_request_input_schema
    )
    check_json_schema(schema, "instanceAuthRequestInputSchema")
    return {
        "name": source.name,
        "description": source.description,
        "instance_auth_request_input_schema": schema,
        "default_instance_auth": auth_to_dict(source.default_instance_auth),
    }


def bundle_command(source: BundleCreateInput) -> BundleCommand:
    return BundleCommand(
        **_bundle_fields(source),
        api_definitions=[api_definition_command(a) for a in source.api_definitions or []],
        event_definitions=[event_definition_command(e) for e in source.event_definitions or []],
        documents=[document_command(d) for d in source.documents or []],
    )


def bundle_update_command(source: BundleUpdateInput) -> BundleCommand:
    return BundleCommand(**_bundle_fields(source))
