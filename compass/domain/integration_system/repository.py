from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from compass.domain.application.model import ApplicationRow
from compass.domain.integration_system.model import IntegrationSystemRow, IntegrationSystemTenantRow
from compass.domain.pagination import Page, PageRequest, paginate

__all__ = ["IntegrationSystemRepository"]


class IntegrationSystemRepository:
    """Integration systems are global: no tenant filter here."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _base(self) -> sa.Select[tuple[IntegrationSystemRow]]:
        return sa.select(IntegrationSystemRow)

    async def get(self, integration_system_id: str) -> IntegrationSystemRow | None:
        return await self.session.scalar(
            self._base().where(IntegrationSystemRow.id == integration_system_id)
        )

    async def name_taken(self, name: str, except_id: str | None = None) -> bool:
        statement = sa.select(IntegrationSystemRow.id).where(IntegrationSystemRow.name == name)
        if except_id is not None:
            statement = statement.where(IntegrationSystemRow.id != except_id)
        return await self.session.scalar(statement) is not None

    async def add(self, row: IntegrationSystemRow) -> IntegrationSystemRow:
        self.session.add(row)
        await self.session.flush()
        return row

    async def save(self, row: IntegrationSystemRow) -> None:
        await self.session.flush()

    async def delete(self, row: IntegrationSystemRow) -> None:
        await self.session.delete(row)
        await self.session.flush()

    async def referred_to(self, integration_system_id: str) -> bool:
        """Whether an application of any tenant refers to the system."""
        statement = sa.select(ApplicationRow.id).where(
            ApplicationRow.integration_system_id == integration_system_id
        )
        return await self.session.scalar(statement.limit(1)) is not None

    async def page(self, request: PageRequest) -> Page[IntegrationSystemRow]:
        return await paginate(self.session, self._base(), IntegrationSystemRow, request)

    async def grant(self, integration_system_id: str, tenant_id: str) -> None:
        self.session.add(
            IntegrationSystemTenantRow(
                integration_system_id=integration_system_id, tenant_id=tenant_id
            )
        )
        await self.session.flush()

    async def granted(self, integration_system_id: str, tenant_id: str) -> bool:
        """Granted by the tenant's administrator, or named by one of its applications."""
        recorded = sa.select(IntegrationSystemTenantRow.tenant_id).where(
            IntegrationSystemTenantRow.integration_system_id == integration_system_id,
            IntegrationSystemTenantRow.tenant_id == tenant_id,
        )
        named = sa.select(ApplicationRow.tenant_id).where(
            ApplicationRow.integration_system_id == integration_system_id,
            ApplicationRow.tenant_id == tenant_id,
        )
        found = await self.session.scalar(sa.union_all(recorded, named).limit(1))
        return found is not None

    async def granted_tenants(self, integration_system_id: str) -> frozenset[str]:
        recorded = sa.select(IntegrationSystemTenantRow.tenant_id).where(
            IntegrationSystemTenantRow.integration_system_id == integration_system_id
        )
        named = sa.select(ApplicationRow.tenant_id).where(
            ApplicationRow.integration_system_id == integration_system_id
        )
        return frozenset((await self.session.scalars(sa.union(recorded, named))).all())
