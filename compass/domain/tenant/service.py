"""Tenants: every object belongs to exactly one; each has its scenarios definition."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from compass.config import DEFAULT_TENANT_ID, DEFAULT_TENANT_NAME
from compass.domain.columns import new_id
from compass.domain.label.service import LabelDefinitionService
from compass.domain.tenant.model import TenantRow
from compass.domain.tenant.repository import TenantRepository
from compass.domain.validation import check_max_length
from compass.errors import InvalidData, NotUnique, TenantNotFound

__all__ = ["TenantService"]


class TenantService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.tenants = TenantRepository(session)

    async def ensure_default(self) -> TenantRow:
        row = await self.tenants.by_reference(DEFAULT_TENANT_ID)
        if row is None:
            row = await self._add(DEFAULT_TENANT_ID, DEFAULT_TENANT_NAME, DEFAULT_TENANT_ID)
        await LabelDefinitionService(self.session, row.id).ensure_scenarios()
        return row

    async def create(self, name: str, external_id: str | None = None) -> TenantRow:
        if not name.strip():
            raise InvalidData("tenant name must not be empty")
        check_max_length("tenant name", name, 256)
        check_max_length("tenant external ID", external_id, 256)
        internal_id = new_id()
        external_id = external_id or internal_id
        if await self.tenants.by_reference(external_id) is not None:
            raise NotUnique(f"a tenant with ID {external_id!r} already exists")
        row = await self._add(internal_id, name, external_id)
        await LabelDefinitionService(self.session, row.id).ensure_scenarios()
        return row

    async def resolve(self, reference: str) -> TenantRow:
        row = await self.tenants.by_reference(reference)
        if row is None:
            raise TenantNotFound(f"tenant {reference!r} not found")
        return row

    async def list(self) -> list[TenantRow]:
        return await self.tenants.list()

    async def _add(self, internal_id: str, name: str, external_id: str) -> TenantRow:
        return await self.tenants.add(TenantRow(id=internal_id, name=name, external_id=external_id))
