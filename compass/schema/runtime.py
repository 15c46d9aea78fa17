"""Runtimes and runtime contexts: the clusters that consume applications."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import strawberry

from compass.schema.common import Pageable, PageInfo
from compass.schema.eventing import RuntimeEventingConfiguration
from compass.schema.provisioner import OperationStatus, RuntimeConfig, RuntimeConnectionStatus
from compass.schema.scalars import Labels, Timestamp
from compass.schema.system_auth import SystemAuth

if TYPE_CHECKING:
    from compass.resolvers.context import Context

__all__ = [
    "Runtime",
    "RuntimeContext",
    "RuntimeContextInput",
    "RuntimeContextPage",
    "RuntimeInput",
    "RuntimeMetadata",
    "RuntimePage",
    "RuntimeStatus",
    "RuntimeStatusCondition",
]


@strawberry.enum
class RuntimeStatusCondition(enum.Enum):
    INITIAL = "INITIAL"
    PROVISIONING = "PROVISIONING"
    CONNECTED = "CONNECTED"
    FAILED = "FAILED"


@strawberry.type(
    description="The runtime's status in the Director and, for runtimes the provisioner "
    "created, its last operation, agent connection and configuration (one type serves "
    "both `Runtime.status` and `runtimeStatus`)."
)
class RuntimeStatus:
    condition: RuntimeStatusCondition
    timestamp: Timestamp
    runtime_id: strawberry.Private[str]

    @strawberry.field(description="The newest provisioner operation on the runtime.")
    async def last_operation_status(
        self, info: strawberry.Info[Context, None]
    ) -> OperationStatus | None:
        return await info.context.loaders.last_operation_status(self.runtime_id)

    @strawberry.field(description="Whether the runtime's agent calls in.")
    async def runtime_connection_status(
        self, info: strawberry.Info[Context, None]
    ) -> RuntimeConnectionStatus | None:
        return await info.context.loaders.runtime_connection_status(self.runtime_id)

    @strawberry.field(description="What the provisioner created the runtime with.")
    async def runtime_configuration(
        self, info: strawberry.Info[Context, None]
    ) -> RuntimeConfig | None:
        return await info.context.loaders.runtime_configuration(self.runtime_id)


@strawberry.type
class RuntimeMetadata:
    creation_timestamp: Timestamp


@strawberry.type(description="A cluster that consumes the APIs and events of applications.")
class Runtime:
    id: strawberry.ID
    name: str
    description: str | None
    status: RuntimeStatus
    metadata: RuntimeMetadata

    @strawberry.field(description="The runtime's labels, or only the one with `key`.")
    async def labels(
        self, info: strawberry.Info[Context, None], key: str | None = None
    ) -> Labels | None:
        return await info.context.loaders.runtime_labels(self.id, key)

    @strawberry.field(description="Credentials: certificate pairings and OAuth clients.")
    async def auths(self, info: strawberry.Info[Context, None]) -> list[SystemAuth] | None:
        return await info.context.loaders.runtime_auths(self.id)

    @strawberry.field
    async def eventing_configuration(
        self, info: strawberry.Info[Context, None]
    ) -> RuntimeEventingConfiguration | None:
        url = await info.context.loaders.runtime_event_url(self.id)
        return RuntimeEventingConfiguration(default_url=url)


@strawberry.type
class RuntimePage(Pageable):
    data: list[Runtime]
    page_info: PageInfo
    total_count: int


@strawberry.type(description="A part of a runtime (a namespace, say) with labels of its own.")
class RuntimeContext:
    id: strawberry.ID
    key: str
    value: str

    @strawberry.field
    async def labels(
        self, info: strawberry.Info[Context, None], key: str | None = None
    ) -> Labels | None:
        return await info.context.loaders.runtime_context_labels(self.id, key)


@strawberry.type
class RuntimeContextPage(Pageable):
    data: list[RuntimeContext]
    page_info: PageInfo
    total_count: int


@strawberry.input
class RuntimeInput:
    name: str
    description: str | None = None
    labels: Labels | None = None
    status_condition: RuntimeStatusCondition | None = None


@strawberry.input
class RuntimeContextInput:
    key: str
    value: str
    labels: Labels | None = None
