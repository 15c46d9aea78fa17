from __future__ import annotations

from typing import Annotated

import strawberry

from compass.auth.principal import ConsumerType
from compass.domain.label.filter import parse_label_filter
from compass.domain.pagination import DEFAULT_PAGE_SIZE, PageRequest
from compass.domain.runtime_context.service import RuntimeContextService
from compass.errors import InvalidData
from compass.resolvers.context import Context
from compass.resolvers.convert import page_of, runtime_context_to_type
from compass.resolvers.inputs import runtime_context_command
from compass.schema.common import LabelFilter
from compass.schema.runtime import RuntimeContext, RuntimeContextInput, RuntimeContextPage
from compass.schema.scalars import PageCursor

Info = strawberry.Info[Context, None]
In = Annotated[RuntimeContextInput, strawberry.argument(name="in")]
RuntimeID = Annotated[
    strawberry.ID | None,
    strawberry.argument(
        name="runtimeID",
        description="The runtime the context belongs to; a runtime calling for itself may omit it.",
    ),
]


async def _own_runtime(info: Info) -> str | None:
    """A runtime acts on its own contexts only; other callers see the tenant's."""
    principal = await info.context.principal()
    return principal.consumer_id if principal.consumer_type is ConsumerType.RUNTIME else None


@strawberry.type
class RuntimeContextQuery:
    @strawberry.field
    async def runtime_contexts(
        self,
        info: Info,
        filter: list[LabelFilter] | None = None,
        first: int | None = DEFAULT_PAGE_SIZE,
        after: PageCursor | None = None,
    ) -> RuntimeContextPage:
        conditions = [parse_label_filter(f.key, f.query) for f in filter or []]
        request = PageRequest.of(first, after)
        own = await _own_runtime(info)
        page = await info.context.run(
            RuntimeContextService, lambda service: service.list(conditions, request, own)
        )
        return page_of(RuntimeContextPage, page, runtime_context_to_type)

    @strawberry.field
    async def runtime_context(self, info: Info, id: strawberry.ID) -> RuntimeContext | None:
        own = await _own_runtime(info)
        row = await info.context.run(RuntimeContextService, lambda service: service.get(id, own))
        return None if row is None else runtime_context_to_type(row)


@strawberry.type
class RuntimeContextMutation:
    @strawberry.mutation
    async def register_runtime_context(
        self, info: Info, in_: In, runtime_id: RuntimeID = None
    ) -> RuntimeContext:
        command = runtime_context_command(in_)
        target = await _own_runtime(info) or runtime_id
        if target is None:
            raise InvalidData("runtimeID is required to register a runtime context")
        row = await info.context.run(
            RuntimeContextService, lambda service: service.register(target, command)
        )
        return runtime_context_to_type(row)

    @strawberry.mutation
    async def update_runtime_context(
        self, info: Info, id: strawberry.ID, in_: In
    ) -> RuntimeContext:
        command = runtime_context_command(in_)
        own = await _own_runtime(info)
        row = await info.context.run(
            RuntimeContextService, lambda service: service.update(id, command, own)
        )
        return runtime_context_to_type(row)

    @strawberry.mutation
    async def unregister_runtime_context(self, info: Info, id: strawberry.ID) -> RuntimeContext:
        own = await _own_runtime(info)
        await info.context.loaders.runtime_context_labels(id, None)
        row = await info.context.run(
            RuntimeContextService, lambda service: service.unregister(id, own)
        )
        return runtime_context_to_type(row)
