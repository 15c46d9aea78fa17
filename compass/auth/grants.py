"""Where integration systems may act, and who may change global objects.

An integration system belongs to no tenant; it acts in a tenant only when the
tenant granted it: its tenant-bound administrator registered it, or one of its
applications names it (`integrationSystemID`). Within a tenant it may mint
credentials only for the applications that name it, as the integration system
scope of Compass intends. Global objects created by a tenant-bound
administrator stay that tenant's to change (see `Steward`).
"""

from __future__ import annotations

from typing import Any

from compass.auth.principal import ConsumerType, Principal
from compass.domain.application.service import ApplicationService
from compass.domain.integration_system.service import IntegrationSystemService
from compass.domain.integration_system.steward import EVERY_TENANT, Steward
from compass.errors import Unauthorized

__all__ = [
    "APPLICATION_CREDENTIAL_OPERATIONS",
    "check_integration_system",
    "steward_of",
]

# Mutations minting credentials of the application their `id` names.
APPLICATION_CREDENTIAL_OPERATIONS = frozenset(
    {"requestClientCredentialsForApplication", "requestOneTimeTokenForApplication"}
)

_NAMING_OPERATIONS = frozenset({"registerApplication", "updateApplication"})
# Applications and runtimes change no global object.
_NOBODY = Steward(tenant_id=None, tenants=frozenset())


async def check_integration_system(
    context: Any, principal: Principal, operation: str, kwargs: dict
) -> None:
    """What an integration system may do in the request's tenant."""
    if principal.consumer_type is not ConsumerType.INTEGRATION_SYSTEM:
        return
    await _check_tenant_granted(context, principal)
    await _check_application_names_caller(context, principal, operation, kwargs)
    _check_names_only_itself(principal, operation, kwargs)


async def _check_tenant_granted(context: Any, principal: Principal) -> None:
    tenant_id = await context.tenant_id()
    async with context.db() as session:
        granted = await IntegrationSystemService(session).granted(principal.consumer_id, tenant_id)
    if not granted:
        raise Unauthorized(
            "the integration system is not granted this tenant: its administrator "
            "registers the system, or an application of the tenant names it"
        )


async def _check_application_names_caller(
    context: Any, principal: Principal, operation: str, kwargs: dict
) -> None:
    if operation not in APPLICATION_CREDENTIAL_OPERATIONS:
        return
    application_id = str(kwargs["id"])
    tenant_id = await context.tenant_id()
    async with context.db() as session:
        application = await ApplicationService(session, tenant_id).get_existing(application_id)
    if application.integration_system_id != principal.consumer_id:
        raise Unauthorized(
            f"integration systems may run {operation} only for applications whose "
            "integrationSystemID names them"
        )


def _check_names_only_itself(principal: Principal, operation: str, kwargs: dict) -> None:
    """It may not pass its grant on: the applications it registers or updates
    name it or no system."""
    if operation not in _NAMING_OPERATIONS:
        return
    named = (kwargs.get("in") or {}).get("integrationSystemID")
    if named is not None and str(named) != principal.consumer_id:
        raise Unauthorized("integration systems may name only themselves in integrationSystemID")


async def steward_of(context: Any) -> Steward:
    """What the caller may change among global objects: a token without a tenant
    claim, all; a tenant-bound administrator, its tenant's; an integration
    system, those of the tenants that granted it."""
    principal: Principal = await context.principal()
    if principal.consumer_type is ConsumerType.INTEGRATION_SYSTEM:
        async with context.db() as session:
            tenants = await IntegrationSystemService(session).granted_tenants(principal.consumer_id)
        return Steward(tenant_id=None, tenants=tenants)
    if principal.tenant is None:
        return EVERY_TENANT if principal.consumer_type is ConsumerType.USER else _NOBODY
    tenant_id = await context.tenant_id()
    return Steward(tenant_id=tenant_id, tenants=frozenset({tenant_id}))
