from __future__ import annotations

import strawberry

from compass.domain.pagination import DEFAULT_PAGE_SIZE, Page, PageRequest
from compass.domain.tenant.service import TenantService
from compass.resolvers.context import Context
from compass.resolvers.convert import page_of, tenant_to_type
from compass.schema.health_check import HealthCheckPage, HealthCheckType
from compass.schema.scalars import PageCursor
from compass.schema.tenant import Tenant, Viewer, ViewerType

Info = strawberry.Info[Context, None]


@strawberry.type
class TenantQuery:
    @strawberry.field
    async def tenants(self, info: Info) -> list[Tenant]:
        async with info.context.db() as session:
            rows = await TenantService(session).list()
        return [tenant_to_type(row) for row in rows]

    @strawberry.field(description="Who is calling.")
    async def viewer(self, info: Info) -> Viewer:
        principal = await info.context.principal()
        return Viewer(
            id=strawberry.ID(principal.consumer_id),
            type=ViewerType(principal.consumer_type.value),
        )

    @strawberry.field(description="Results of application health checks (none are run yet).")
    async def health_checks(
        self,
        info: Info,
        types: list[HealthCheckType] | None = None,
        origin: strawberry.ID | None = None,
        first: int | None = DEFAULT_PAGE_SIZE,
        after: PageCursor | None = None,
    ) -> HealthCheckPage:
        PageRequest.of(first, after)
        return page_of(HealthCheckPage, Page([], 0, "", "", False), lambda item: item)
