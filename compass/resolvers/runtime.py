from __future__ import annotations

from typing import Annotated

import strawberry

from compass.auth.ownership import SELF_SERVICE_MUTATIONS
from compass.domain.label.filter import parse_label_filter
from compass.domain.pagination import DEFAULT_PAGE_SIZE, PageRequest
from compass.domain.runtime.service import RuntimeLabels, RuntimeService
from compass.resolvers.context import Context
from compass.resolvers.convert import page_of, runtime_to_type
from compass.resolvers.inputs import runtime_command
from compass.resolvers.selection import selects_total_count
from compass.schema.common import Label, LabelFilter
from compass.schema.runtime import Runtime, RuntimeInput, RuntimePage
from compass.schema.scalars import Any, PageCursor

Info = strawberry.Info[Context, None]
RuntimeID = Annotated[strawberry.ID, strawberry.argument(name="runtimeID")]
In = Annotated[RuntimeInput, strawberry.argument(name="in")]


async def _scenarios_locked(info: Info) -> bool:
    """Applications and runtimes may not change which scenarios they are in."""
    principal = await info.context.principal()
    return principal.consumer_type in SELF_SERVICE_MUTATIONS


@strawberry.type
class RuntimeQuery:
    @strawberry.field(description="Runtimes of the tenant, optionally filtered by labels.")
    async def runtimes(
        self,
        info: Info,
        filter: list[LabelFilter] | None = None,
        first: int | None = DEFAULT_PAGE_SIZE,
        after: PageCursor | None = None,
    ) -> RuntimePage:
        conditions = [parse_label_filter(f.key, f.query) for f in filter or []]
        request = PageRequest.of(first, after, selects_total_count(info))
        audience = await info.context.audience()
        page = await info.context.run(
            RuntimeService, lambda service: service.list(conditions, request, audience)
        )
        return page_of(RuntimePage, page, runtime_to_type)

    @strawberry.field
    async def runtime(self, info: Info, id: strawberry.ID) -> Runtime | None:
        audience = await info.context.audience()
        row = await info.context.run(RuntimeService, lambda service: service.get(id, audience))
        return None if row is None else runtime_to_type(row)


@strawberry.type
class RuntimeMutation:
    @strawberry.mutation
    async def register_runtime(self, info: Info, in_: In) -> Runtime:
        command = runtime_command(in_)
        row = await info.context.run(RuntimeService, lambda service: service.register(command))
        return runtime_to_type(row)

    @strawberry.mutation(
        description="Replaces name, description and status; labels, when given, replace "
        "the runtime's labels (scenarios stay unless given)."
    )
    async def update_runtime(self, info: Info, id: strawberry.ID, in_: In) -> Runtime:
        command = runtime_command(in_)
        locked = await _scenarios_locked(info)
        row = await info.context.run(
            RuntimeService, lambda service: service.update(id, command, locked)
        )
        return runtime_to_type(row)

    @strawberry.mutation
    async def unregister_runtime(self, info: Info, id: strawberry.ID) -> Runtime:
        await info.context.loaders.runtime_labels(id, None)
        row = await info.context.run(RuntimeService, lambda service: service.unregister(id))
        return runtime_to_type(row)

    @strawberry.mutation(description="Sets a label, replacing any value the key had.")
    async def set_runtime_label(
        self, info: Info, runtime_id: RuntimeID, key: str, value: Any
    ) -> Label:
        locked = await _scenarios_locked(info)
        row = await info.context.run(
            RuntimeLabels, lambda service: service.set(runtime_id, key, value, locked)
        )
        return Label(key=row.key, value=row.value)

    @strawberry.mutation
    async def delete_runtime_label(self, info: Info, runtime_id: RuntimeID, key: str) -> Label:
        locked = await _scenarios_locked(info)
        row = await info.context.run(
            RuntimeLabels, lambda service: service.delete(runtime_id, key, locked)
        )
        return Label(key=row.key, value=row.value)
