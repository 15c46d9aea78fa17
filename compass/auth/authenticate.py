"""Turns request headers into a Principal and picks the tenant of the request."""

from __future__ import annotations

from collections.abc import Mapping

from compass.auth.principal import Principal
from compass.auth.tokens import UserTokenVerifier
from compass.domain.tenant.model import TenantRow
from compass.domain.tenant.service import TenantService
from compass.errors import TenantRequired, Unauthorized

__all__ = ["authenticate", "resolve_tenant", "TENANT_HEADER"]

TENANT_HEADER = "tenant"


async def authenticate(headers: Mapping[str, str], verifier: UserTokenVerifier) -> Principal:
    authorization = headers.get("authorization")
    if not authorization:
        raise Unauthorized("no credentials: send Authorization: Bearer <token>")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    return await verifier.verify_async(token.strip())


async def resolve_tenant(
    principal: Principal, header: str | None, tenants: TenantService
) -> TenantRow:
    """The Tenant header chooses the tenant; a credential bound to one tenant
    may only name that one."""
    bound = await tenants.resolve(principal.tenant) if principal.tenant else None
    if header:
        chosen = await tenants.resolve(header)
        if bound is not None and chosen.id != bound.id:
            raise Unauthorized(f"the credential is not valid for tenant {header!r}")
        return chosen
    if bound is None:
        raise TenantRequired("this operation needs a tenant: send the Tenant header")
    return bound
