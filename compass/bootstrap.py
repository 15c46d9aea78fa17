"""What every start needs besides migrations: the default tenant."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from compass.domain.tenant.service import TenantService

__all__ = ["ensure_default_tenant"]


async def ensure_default_tenant(sessions: async_sessionmaker[AsyncSession]) -> None:
    for _attempt in range(2):
        async with sessions() as session:
            try:
                await TenantService(session).ensure_default()
                await session.commit()
                return
            except IntegrityError:
                # Another replica created it at the same moment; look again.
                await session.rollback()
