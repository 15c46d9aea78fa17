"""Credentials for one owner of the tenant: one-time tokens, OAuth clients,
listing and deleting them. The owner must exist (and, for applications and
runtimes, belong to the tenant)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from compass.domain.application.repository import ApplicationRepository
from compass.domain.integration_system.repository import IntegrationSystemRepository
from compass.domain.runtime.repository import RuntimeRepository
from compass.domain.system_auth.model import SystemAuthRow
from compass.domain.system_auth.service import Owner, OwnerKind, SystemAuthService
from compass.errors import NotFound

__all__ = ["PairingService"]


class PairingService:
    def __init__(self, session: AsyncSession, tenant_id: str | None) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.auths = SystemAuthService(session)

    async def owner(self, kind: OwnerKind, owner_id: str) -> Owner:
        if kind is OwnerKind.INTEGRATION_SYSTEM:
            found = await IntegrationSystemRepository(self.session).get(owner_id)
            if found is None:
                raise NotFound.of("integration system", owner_id)
            return Owner(kind, owner_id, None)
        assert self.tenant_id is not None, "applications and runtimes need a tenant"
        if kind is OwnerKind.APPLICATION:
            found = await ApplicationRepository(self.session, self.tenant_id).get(owner_id)
        else:
            found = await RuntimeRepository(self.session, self.tenant_id).get(owner_id)
        if found is None:
            raise NotFound.of(kind.name.lower(), owner_id)
        return Owner(kind, owner_id, self.tenant_id)

    async def one_time_token(
        self, kind: OwnerKind, owner_id: str, lifetime: timedelta
    ) -> tuple[SystemAuthRow, str]:
        return await self.auths.pair(await self.owner(kind, owner_id), lifetime)

    async def client_credentials(self, kind: OwnerKind, owner_id: str) -> tuple[SystemAuthRow, str]:
        return await self.auths.client_credentials(await self.owner(kind, owner_id))

    async def delete(self, kind: OwnerKind, system_auth_id: str) -> SystemAuthRow:
        tenant_id = None if kind is OwnerKind.INTEGRATION_SYSTEM else self.tenant_id
        return await self.auths.delete(system_auth_id, kind, tenant_id)

    async def auths_of(
        self, kind: OwnerKind, owner_ids: Sequence[str]
    ) -> dict[str, list[SystemAuthRow]]:
        return await self.auths.of_owners(kind, owner_ids)
