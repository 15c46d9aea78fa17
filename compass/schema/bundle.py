"""Bundles of API and event definitions and documents (inputs)."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import strawberry

from compass.auth.scopes import (
    FETCH_REQUEST_CREDENTIALS_SCOPE,
    INSTANCE_AUTH_CREDENTIALS_SCOPE,
)
from compass.resolvers.execution import PLAIN_READ
from compass.schema.auth import Auth, AuthInput
from compass.schema.bundle_instance_auth import BundleInstanceAuth
from compass.schema.common import Pageable, PageInfo
from compass.schema.scalars import CLOB, JSONSchema, PageCursor, Timestamp

if TYPE_CHECKING:
    from compass.resolvers.context import Context

__all__ = [
    "APIDefinition",
    "APIDefinitionPage",
    "APISpec",
    "Bundle",
    "BundlePage",
    "BundleUpdateInput",
    "Document",
    "DocumentPage",
    "EventDefinition",
    "EventDefinitionPage",
    "EventSpec",
    "FetchRequest",
    "FetchRequestStatus",
    "FetchRequestStatusCondition",
    "Version",
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


@strawberry.input
class BundleUpdateInput:
    name: str
    description: str | None = None
    instance_auth_request_input_schema: JSONSchema | None = None
    default_instance_auth: AuthInput | None = strawberry.field(
        default=None,
        description="Bundle instance auths created before the update keep their credentials.",
    )


@strawberry.enum
class FetchRequestStatusCondition(enum.Enum):
    INITIAL = "INITIAL"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.type
class FetchRequestStatus:
    condition: FetchRequestStatusCondition
    message: str | None
    timestamp: Timestamp


@strawberry.type(description="A download Compass makes after registration, and how it went.")
class FetchRequest:
    url: str
    mode: FetchMode
    filter: str | None
    status: FetchRequestStatus
    credentials: strawberry.Private[Auth | None] = None

    @strawberry.field(description="Credentials of the download; null without the scope for them.")
    async def auth(self, info: strawberry.Info[Context, None]) -> Auth | None:
        return await info.context.credentials(FETCH_REQUEST_CREDENTIALS_SCOPE, self.credentials)


@strawberry.type
class Version:
    value: str
    deprecated: bool | None
    deprecated_since: str | None
    for_removal: bool | None


@strawberry.type
class APISpec:
    data: CLOB | None
    format: SpecFormat
    type: APISpecType
    owner_id: strawberry.Private[str]

    @strawberry.field
    async def fetch_request(self, info: strawberry.Info[Context, None]) -> FetchRequest | None:
        return await info.context.loaders.fetch_request("api", self.owner_id)


@strawberry.type
class EventSpec:
    data: CLOB | None
    type: EventSpecType
    format: SpecFormat
    owner_id: strawberry.Private[str]

    @strawberry.field
    async def fetch_request(self, info: strawberry.Info[Context, None]) -> FetchRequest | None:
        return await info.context.loaders.fetch_request("event", self.owner_id)


@strawberry.type(description="An API of the application, with its specification.")
class APIDefinition:
    id: strawberry.ID
    name: str
    description: str | None
    spec: APISpec | None
    target_url: str = strawberry.field(name="targetURL")
    group: str | None = strawberry.field(description="Groups versions of the same API.")
    version: Version | None


@strawberry.type(description="Events the application emits, with their specification.")
class EventDefinition:
    id: strawberry.ID
    name: str
    description: str | None
    group: str | None = strawberry.field(description="Groups versions of the same events.")
    spec: EventSpec | None
    version: Version | None


@strawberry.type
class Document:
    id: strawberry.ID
    title: str
    display_name: str
    description: str
    format: DocumentFormat
    kind: str | None
    data: CLOB | None

    @strawberry.field
    async def fetch_request(self, info: strawberry.Info[Context, None]) -> FetchRequest | None:
        return await info.context.loaders.fetch_request("document", self.id)


@strawberry.type
class APIDefinitionPage(Pageable):
    data: list[APIDefinition]
    page_info: PageInfo
    total_count: int


@strawberry.type
class EventDefinitionPage(Pageable):
    data: list[EventDefinition]
    page_info: PageInfo
    total_count: int


@strawberry.type
class DocumentPage(Pageable):
    data: list[Document]
    page_info: PageInfo
    total_count: int


@strawberry.type(description="APIs, events and documents an application offers together.")
class Bundle:
    id: strawberry.ID
    name: str
    description: str | None
    instance_auth_request_input_schema: JSONSchema | None
    default_credentials: strawberry.Private[Auth | None] = None

    @strawberry.field(
        description="Credentials handed to every runtime that asks, when set; null "
        "without the scope for them."
    )
    async def default_instance_auth(self, info: strawberry.Info[Context, None]) -> Auth | None:
        scope = INSTANCE_AUTH_CREDENTIALS_SCOPE
        return await info.context.credentials(scope, self.default_credentials)

    @strawberry.field(description="One instance auth of the bundle the caller may see.")
    async def instance_auth(
        self, info: strawberry.Info[Context, None], id: strawberry.ID
    ) -> BundleInstanceAuth | None:
        return await info.context.loaders.instance_auth(self.id, id)

    @strawberry.field(
        description="The bundle's instance auths: a runtime sees its own, others all of them.",
        metadata=PLAIN_READ,
    )
    def instance_auths(self, info: strawberry.Info[Context, None]) -> list[BundleInstanceAuth]:
        return info.context.loaders.instance_auths(self.id)

    # Not `async`: a page read with its bundle is answered at once (the loader
    # returns an awaitable otherwise).
    @strawberry.field(metadata=PLAIN_READ)
    def api_definitions(
        self,
        info: strawberry.Info[Context, None],
        group: str | None = None,
        first: int | None = 200,
        after: PageCursor | None = None,
    ) -> APIDefinitionPage | None:
        return info.context.loaders.api_definitions(self.id, group, first, after)

    @strawberry.field(metadata=PLAIN_READ)
    def event_definitions(
        self,
        info: strawberry.Info[Context, None],
        group: str | None = None,
        first: int | None = 200,
        after: PageCursor | None = None,
    ) -> EventDefinitionPage | None:
        return info.context.loaders.event_definitions(self.id, group, first, after)

    @strawberry.field(metadata=PLAIN_READ)
    def documents(
        self,
        info: strawberry.Info[Context, None],
        first: int | None = 200,
        after: PageCursor | None = None,
    ) -> DocumentPage | None:
        return info.context.loaders.documents(self.id, first, after)

    @strawberry.field
    async def api_definition(
        self, info: strawberry.Info[Context, None], id: strawberry.ID
    ) -> APIDefinition | None:
        return await info.context.loaders.api_definition(self.id, id)

    @strawberry.field
    async def event_definition(
        self, info: strawberry.Info[Context, None], id: strawberry.ID
    ) -> EventDefinition | None:
        return await info.context.loaders.event_definition(self.id, id)

    @strawberry.field
    async def document(
        self, info: strawberry.Info[Context, None], id: strawberry.ID
    ) -> Document | None:
        return await info.context.loaders.document(self.id, id)


@strawberry.type
class BundlePage(Pageable):
    data: list[Bundle]
    page_info: PageInfo
    total_count: int
