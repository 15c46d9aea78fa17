"""Integration systems: services that act on applications for many tenants,
each only in the tenants that granted it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from compass.db import utcnow
from compass.domain.integration_system.commands import IntegrationSystemCommand
from compass.domain.integration_system.model import IntegrationSystemRow
from compass.domain.integration_system.repository import IntegrationSystemRepository
from compass.domain.integration_system.steward import EVERY_TENANT, Steward
from compass.domain.pagination import Page, PageRequest
from compass.errors import InvalidOperation, NotFound, NotUnique

__all__ = ["IntegrationSystemService"]

_WHAT = "integration system"


class IntegrationSystemService:
    def __init__(self, session: AsyncSession) -> None:
        self.integration_systems = IntegrationSystemRepository(session)

    async def register(
        self, command: IntegrationSystemCommand, steward: Steward = EVERY_TENANT
    ) -> IntegrationSystemRow:
        """A tenant-bound administrator's system acts in its tenant at once; one
        of an administrator of every tenant acts nowhere until applications name it."""
        await self._check_name_free(command.name)
        row = await self.integration_systems.add(
            IntegrationSystemRow(
                name=command.name,
                description=command.description,
                created_at=utcnow(),
                created_by_tenant_id=steward.tenant_id,
            )
        )
        if steward.tenant_id is not None:
            await self.integration_systems.grant(row.id, steward.tenant_id)
        return row

    async def update(
        self,
        integration_system_id: str,
        command: IntegrationSystemCommand,
        steward: Steward = EVERY_TENANT,
    ) -> IntegrationSystemRow:
        row = await self.get_existing(integration_system_id)
        steward.check_change(_WHAT, row.created_by_tenant_id)
        await self._check_name_free(command.name, except_id=integration_system_id)
        row.name = command.name
        row.description = command.description
        await self.integration_systems.save(row)
        return row

    async def unregister(
        self, integration_system_id: str, steward: Steward = EVERY_TENANT
    ) -> IntegrationSystemRow:
        """Refused while applications (of any tenant) refer to the system."""
        row = await self.get_existing(integration_system_id)
        steward.check_change(_WHAT, row.created_by_tenant_id)
        if await self.integration_systems.referred_to(row.id):
            raise InvalidOperation(
                "the record cannot be deleted because another record refers to it"
            )
        await self.integration_systems.delete(row)
        return row

    async def check_credentials(self, integration_system_id: str, steward: Steward) -> None:
        """Whether `steward` may mint or delete the system's credentials."""
        row = await self.get_existing(integration_system_id)
        steward.check_credentials(_WHAT, row.created_by_tenant_id)

    async def granted(self, integration_system_id: str, tenant_id: str) -> bool:
        return await self.integration_systems.granted(integration_system_id, tenant_id)

    async def granted_tenants(self, integration_system_id: str) -> frozenset[str]:
        return await self.integration_systems.granted_tenants(integration_system_id)

    async def get(self, integration_system_id: str) -> IntegrationSystemRow | None:
        return await self.integration_systems.get(integration_system_id)

    async def get_existing(self, integration_system_id: str) -> IntegrationSystemRow:
        row = await self.integration_systems.get(integration_system_id)
        if row is None:
            raise NotFound.of(_WHAT, integration_system_id)
        return row

    async def list(self, request: PageRequest) -> Page[IntegrationSystemRow]:
        return await self.integration_systems.page(request)

    async def _check_name_free(self, name: str, except_id: str | None = None) -> None:
        if await self.integration_systems.name_taken(name, except_id=except_id):
            raise NotUnique(f"an integration system named {name!r} already exists")
