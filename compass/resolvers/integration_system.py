from __future__ import annotations

from typing import Annotated

import strawberry

from compass.auth.grants import steward_of
from compass.domain.integration_system.service import IntegrationSystemService
from compass.domain.pagination import DEFAULT_PAGE_SIZE, PageRequest
from compass.resolvers.context import Context
from compass.resolvers.convert import integration_system_to_type, page_of
from compass.resolvers.integration_system_inputs import integration_system_command
from compass.schema.integration_system import (
    IntegrationSystem,
    IntegrationSystemInput,
    IntegrationSystemPage,
)
from compass.schema.scalars import PageCursor

Info = strawberry.Info[Context, None]
In = Annotated[IntegrationSystemInput, strawberry.argument(name="in")]


@strawberry.type
class IntegrationSystemQuery:
    @strawberry.field(description="Every integration system (they belong to no tenant).")
    async def integration_systems(
        self,
        info: Info,
        first: int | None = DEFAULT_PAGE_SIZE,
        after: PageCursor | None = None,
    ) -> IntegrationSystemPage:
        request = PageRequest.of(first, after)
        async with info.context.db() as session:
            page = await IntegrationSystemService(session).list(request)
        return page_of(IntegrationSystemPage, page, integration_system_to_type)

    @strawberry.field
    async def integration_system(self, info: Info, id: strawberry.ID) -> IntegrationSystem | None:
        async with info.context.db() as session:
            row = await IntegrationSystemService(session).get(id)
        return None if row is None else integration_system_to_type(row)


@strawberry.type
class IntegrationSystemMutation:
    @strawberry.mutation(
        description="A tenant-bound administrator's system acts in its tenant; any "
        "system also acts in the tenants whose applications name it."
    )
    async def register_integration_system(self, info: Info, in_: In) -> IntegrationSystem:
        command = integration_system_command(in_)
        steward = await steward_of(info.context)
        async with info.context.db() as session:
            row = await IntegrationSystemService(session).register(command, steward)
        return integration_system_to_type(row)

    @strawberry.mutation(
        description="Replaces the name and description (the creating tenant's "
        "administrators, or those of every tenant)."
    )
    async def update_integration_system(
        self, info: Info, id: strawberry.ID, in_: In
    ) -> IntegrationSystem:
        command = integration_system_command(in_)
        steward = await steward_of(info.context)
        async with info.context.db() as session:
            row = await IntegrationSystemService(session).update(id, command, steward)
        return integration_system_to_type(row)

    @strawberry.mutation(
        description="Deletes the integration system; applications that referred to it "
        "stay, without the reference."
    )
    async def unregister_integration_system(
        self, info: Info, id: strawberry.ID
    ) -> IntegrationSystem:
        steward = await steward_of(info.context)
        async with info.context.db() as session:
            row = await IntegrationSystemService(session).unregister(id, steward)
        return integration_system_to_type(row)
