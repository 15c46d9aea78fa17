from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from compass.domain.tenant.model import TenantRow

__all__ = ["TenantRepository"]


class TenantRepository:
    """Tenants are the one table that is not itself tenant-scoped."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_reference(self, reference: str) -> TenantRow | None:
        """Finds a tenant by its internal or its external ID."""
        return await self.session.scalar(
            sa.select(TenantRow)
            .where(sa.or_(TenantRow.id == reference, TenantRow.external_id == reference))
            .order_by(sa.case((TenantRow.id == reference, 0), else_=1))
            .limit(1)
        )

    async def by_external_id(self, external_id: str) -> TenantRow | None:
        return await self.session.scalar(
            sa.select(TenantRow).where(TenantRow.external_id == external_id)
        )

    async def list(self) -> list[TenantRow]:
        return list(await self.session.scalars(sa.select(TenantRow).order_by(TenantRow.created_at)))

    async def add(self, row: TenantRow) -> TenantRow:
        self.session.add(row)
        await self.session.flush()
        return row
