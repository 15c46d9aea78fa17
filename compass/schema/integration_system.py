"""Integration systems: services that manage applications for many tenants."""

from __future__ import annotations

from typing import TYPE_CHECKING

import strawberry

from compass.schema.common import Pageable, PageInfo
from compass.schema.system_auth import SystemAuth

if TYPE_CHECKING:
    from compass.resolvers.context import Context

__all__ = ["IntegrationSystem", "IntegrationSystemInput", "IntegrationSystemPage"]


@strawberry.type(description="A system that registers and manages applications across tenants.")
class IntegrationSystem:
    id: strawberry.ID
    name: str
    description: str | None

    @strawberry.field(description="Credentials: certificate pairings and OAuth clients.")
    async def auths(self, info: strawberry.Info[Context, None]) -> list[SystemAuth] | None:
        return await info.context.loaders.integration_system_auths(self.id)


@strawberry.type
class IntegrationSystemPage(Pageable):
    data: list[IntegrationSystem]
    page_info: PageInfo
    total_count: int


@strawberry.input
class IntegrationSystemInput:
    name: str
    description: str | None = None
