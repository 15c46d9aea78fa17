"""Tenant references already resolved, shared by the requests of one process.

Tenants are created but never renamed, re-keyed or deleted, so a reference
(internal or external ID) that was found keeps naming the same tenant on every
replica; a reference that was not found is not kept, since that tenant may be
created by the next request. Bounded and short-lived all the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from cachetools import TTLCache
from sqlalchemy.ext.asyncio import AsyncSession

from compass.domain.tenant.service import TenantService

__all__ = ["TenantCache", "TenantRef"]

TENANT_CACHE_SIZE = 1024
TENANT_CACHE_SECONDS = 300.0


@dataclass(frozen=True)
class TenantRef:
    id: str
    external_id: str


class TenantCache:
    def __init__(
        self, size: int = TENANT_CACHE_SIZE, seconds: float = TENANT_CACHE_SECONDS
    ) -> None:
        self._found: TTLCache[str, TenantRef] = TTLCache(size, seconds)

    def on(self, session: AsyncSession) -> CachedTenants:
        """Lookups that read `session` only for references not seen yet."""
        return CachedTenants(self, session)

    async def resolve(self, reference: str, session: AsyncSession) -> TenantRef:
        """Raises TenantNotFound, as TenantService.resolve does."""
        if (known := self._found.get(reference)) is not None:
            return known
        row = await TenantService(session).resolve(reference)
        found = TenantRef(row.id, row.external_id)
        self._found[reference] = found
        return found


@dataclass(frozen=True)
class CachedTenants:
    cache: TenantCache
    session: AsyncSession

    async def resolve(self, reference: str) -> TenantRef:
        return await self.cache.resolve(reference, self.session)
