"""Dataloaders for the `auths` of applications, runtimes and integration systems."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from compass.auth.principal import ConsumerType
from compass.domain.system_auth.service import OwnerKind, SystemAuthService
from compass.resolvers.convert import system_auth_to_type
from compass.resolvers.on_demand import LoaderMap
from compass.schema.system_auth import SystemAuth

if TYPE_CHECKING:
    from compass.resolvers.context import Context

__all__ = ["AuthLoaders"]


class AuthLoaders:
    def __init__(self, context: Context) -> None:
        self._context = context
        self._auths: LoaderMap[OwnerKind] = LoaderMap(self._auths_of)

    def _auths_of(self, kind: OwnerKind) -> Callable[[Sequence[str]], Awaitable[list]]:
        async def load(owner_ids: Sequence[str]) -> list[list[SystemAuth]]:
            principal = await self._context.principal()
            if principal.consumer_type is ConsumerType.RUNTIME and kind is OwnerKind.APPLICATION:
                # Runtimes read the applications of their scenarios, not their credentials.
                return [[] for _ in owner_ids]
            url = self._context.state.settings.oauth_token_url()
            async with self._context.db() as session:
                found = await SystemAuthService(session).of_owners(kind, owner_ids)
            return [[system_auth_to_type(row, url) for row in found.get(i, [])] for i in owner_ids]

        return load

    async def application_auths(self, application_id: str) -> list[SystemAuth]:
        return await self._auths[OwnerKind.APPLICATION].load(application_id)

    async def runtime_auths(self, runtime_id: str) -> list[SystemAuth]:
        return await self._auths[OwnerKind.RUNTIME].load(runtime_id)

    async def integration_system_auths(self, integration_system_id: str) -> list[SystemAuth]:
        return await self._auths[OwnerKind.INTEGRATION_SYSTEM].load(integration_system_id)
