"""Bundles of API and event definitions and documents (inputs)."""

from __future__ import annotations

import enum

import strawberry

from compass.schema.auth import AuthInput
from compass.schema.scalars import CLOB, JSONSchema

__all__ = [
    "APIDefinitionInput",
    "APISpecInput",
    "APISpecType",
    "BundleCreateInput",
    "DocumentFormat",
    "DocumentInput",
    "EventDefinitionInput",
    "EventSpecInput",
    "EventSpecType",
    "FetchMode",
    "FetchRequestInput",
    "SpecFormat",
    "VersionInput",
]


@strawberry.enum
class APISpecType(enum.Enum):
    ODATA = "ODATA"
    OPEN_API = "OPEN_API"


@strawberry.enum
class EventSpecType(enum.Enum):
    ASYNC_API = "ASYNC_API"


@strawberry.enum
class SpecFormat(enum.Enum):
    YAML = "YAML"
    JSON = "JSON"
    XML = "XML"


@strawberry.enum
class FetchMode(enum.Enum):
    SINGLE = "SINGLE"
    BUNDLE = "BUNDLE"
    INDEX = "INDEX"


@strawberry.enum
class DocumentFormat(enum.Enum):
    MARKDOWN = "MARKDOWN"


@strawberry.input(description="Where Compass downloads a specification or document from.")
class FetchRequestInput:
    url: str
    auth: AuthInput | None = None
    mode: FetchMode | None = FetchMode.SINGLE
    filter: str | None = None


@strawberry.input
class VersionInput:
    value: str
    deprecated: bool | None = False
    deprecated_since: str | None = None
    for_removal: bool | None = False


@strawberry.input(description="Inline `data` or a `fetchRequest`.")
class APISpecInput:
    data: CLOB | None = None
    type: APISpecType
    format: SpecFormat
    fetch_request: FetchRequestInput | None = None


@strawberry.input
class APIDefinitionInput:
    name: str
    description: str | None = None
    target_url: str = strawberry.field(name="targetURL")
    group: str | None = None
    spec: APISpecInput | None = None
    version: VersionInput | None = None


@strawberry.input(description="Inline `data` or a `fetchRequest`.")
class EventSpecInput:
    data: CLOB | None = None
    type: EventSpecType
    format: SpecFormat
    fetch_request: FetchRequestInput | None = None


@strawberry.input
class EventDefinitionInput:
    name: str
    description: str | None = None
    spec: EventSpecInput | None = None
    group: str | None = None
    version: VersionInput | None = None


@strawberry.input
class DocumentInput:
    title: str
    display_name: str
    description: str
    format: DocumentFormat
    kind: str | None = None
    data: CLOB | None = None
    fetch_request: FetchRequestInput | None = None


@strawberry.input
class BundleCreateInput:
    name: str
    description: str | None = None
    instance_auth_request_input_schema: JSONSchema | None = None
    default_instance_auth: AuthInput | None = None
    api_definitions: list[APIDefinitionInput] | None = None
    event_definitions: list[EventDefinitionInput] | None = None
    documents: list[DocumentInput] | None = None
