"""One-time tokens, OAuth clients and system auths of applications, runtimes
and integration systems."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import strawberry

from compass.auth.grants import steward_of
from compass.config import Settings
from compass.domain.integration_system.service import IntegrationSystemService
from compass.domain.system_auth.pairing import PairingService
from compass.domain.system_auth.service import OwnerKind, SystemAuthService, raw_token
from compass.resolvers.context import Context
from compass.resolvers.convert import system_auth_to_type
from compass.schema.system_auth import (
    OneTimeTokenForApplication,
    OneTimeTokenForRuntime,
    SystemAuth,
)

Info = strawberry.Info[Context, None]
AuthID = Annotated[strawberry.ID, strawberry.argument(name="authID")]


def _settings(info: Info) -> Settings:
    return info.context.state.settings


async def _tenant(info: Info, kind: OwnerKind) -> str | None:
    return None if kind is OwnerKind.INTEGRATION_SYSTEM else await info.context.tenant_id()


async def _check_system_steward(info: Info, integration_system_id: str | None) -> None:
    """An integration system's credentials act wherever it acts: only its
    creating tenant's administrators (or those of every tenant) handle them."""
    if integration_system_id is None:
        return  # not an integration system's: the deletion answers NotFound
    steward = await steward_of(info.context)
    async with info.context.db() as session:
        await IntegrationSystemService(session).check_credentials(integration_system_id, steward)


async def _system_of_auth(info: Info, auth_id: str) -> str | None:
    async with info.context.db() as session:
        row = await SystemAuthService(session).get(auth_id)
    return None if row is None else row.integration_system_id


async def _token(info: Info, kind: OwnerKind, owner_id: str, minutes: int) -> str:
    async with info.context.db() as session:
        service = PairingService(session, await _tenant(info, kind))
        _row, token = await service.one_time_token(kind, owner_id, timedelta(minutes=minutes))
    return token


async def _client_credentials(info: Info, kind: OwnerKind, owner_id: str) -> SystemAuth:
    tenant_id = await _tenant(info, kind)
    async with info.context.db() as session:
        row, secret = await PairingService(session, tenant_id).client_credentials(kind, owner_id)
    return system_auth_to_type(row, _settings(info).oauth_token_url(), secret)


async def _delete(info: Info, kind: OwnerKind, auth_id: str) -> SystemAuth:
    tenant_id = await _tenant(info, kind)
    async with info.context.db() as session:
        row = await PairingService(session, tenant_id).delete(kind, auth_id)
    return system_auth_to_type(row, _settings(info).oauth_token_url())


@strawberry.type
class SystemAuthMutation:
    @strawberry.mutation(
        description="A one-time token with which the application pairs (an integration "
        "system: only for applications that name it)."
    )
    async def request_one_time_token_for_application(
        self, info: Info, id: strawberry.ID
    ) -> OneTimeTokenForApplication:
        settings = _settings(info)
        token = await _token(info, OwnerKind.APPLICATION, id, settings.application_token_minutes)
        connector_url = settings.connector_url()
        raw, raw_encoded = raw_token(token, connector_url)
        return OneTimeTokenForApplication(
            token=token,
            connector_url=connector_url,
            legacy_connector_url=f"{connector_url}?token={token}",
            raw=raw,
            raw_encoded=raw_encoded,
        )

    @strawberry.mutation(description="A one-time token with which the runtime's agent pairs.")
    async def request_one_time_token_for_runtime(
        self, info: Info, id: strawberry.ID
    ) -> OneTimeTokenForRuntime:
        settings = _settings(info)
        token = await _token(info, OwnerKind.RUNTIME, id, settings.runtime_token_minutes)
        connector_url = settings.connector_url()
        raw, raw_encoded = raw_token(token, connector_url)
        return OneTimeTokenForRuntime(
            token=token, connector_url=connector_url, raw=raw, raw_encoded=raw_encoded
        )

    @strawberry.mutation(
        description="An OAuth client; its secret is shown only in this answer (an "
        "integration system: only for applications that name it)."
    )
    async def request_client_credentials_for_application(
        self, info: Info, id: strawberry.ID
    ) -> SystemAuth:
        return await _client_credentials(info, OwnerKind.APPLICATION, id)

    @strawberry.mutation(description="An OAuth client; its secret is shown only in this answer.")
    async def request_client_credentials_for_runtime(
        self, info: Info, id: strawberry.ID
    ) -> SystemAuth:
        return await _client_credentials(info, OwnerKind.RUNTIME, id)

    @strawberry.mutation(
        description="An OAuth client; its secret is shown only in this answer. The "
        "creating tenant's administrators, or those of every tenant."
    )
    async def request_client_credentials_for_integration_system(
        self, info: Info, id: strawberry.ID
    ) -> SystemAuth:
        await _check_system_steward(info, id)
        return await _client_credentials(info, OwnerKind.INTEGRATION_SYSTEM, id)

    @strawberry.mutation(description="Everything the credential authorised stops working.")
    async def delete_system_auth_for_application(self, info: Info, auth_id: AuthID) -> SystemAuth:
        return await _delete(info, OwnerKind.APPLICATION, auth_id)

    @strawberry.mutation(description="Everything the credential authorised stops working.")
    async def delete_system_auth_for_runtime(self, info: Info, auth_id: AuthID) -> SystemAuth:
        return await _delete(info, OwnerKind.RUNTIME, auth_id)

    @strawberry.mutation(description="Everything the credential authorised stops working.")
    async def delete_system_auth_for_integration_system(
        self, info: Info, auth_id: AuthID
    ) -> SystemAuth:
        await _check_system_steward(info, await _system_of_auth(info, auth_id))
        return await _delete(info, OwnerKind.INTEGRATION_SYSTEM, auth_id)
