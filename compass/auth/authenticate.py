"""Turns a request into a Principal and picks the tenant of the request.

Credentials, in order: a client certificate (from the mTLS listener, or from
a trusted proxy's header), then a bearer JWT (a user's, or an OAuth client's
access token). Certificates and client tokens stand for a system auth that
must still exist; a certificate must also be recorded and not revoked.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from compass.auth.consumers import principal_for
from compass.auth.principal import Principal
from compass.auth.tokens import SYSTEM_AUTH_CLAIM, TokenVerifier, user_principal
from compass.config import Settings
from compass.db import utcnow
from compass.domain.system_auth.repository import CertificateRepository
from compass.domain.system_auth.service import SystemAuthService
from compass.domain.tenant.cache import CachedTenants, TenantCache, TenantRef
from compass.errors import TenantRequired, Unauthorized
from compass.pki.authority import certificate_serial

__all__ = [
    "Authenticator",
    "TENANT_HEADER",
    "client_certificate",
    "resolve_tenant",
]

TENANT_HEADER = "tenant"
TLS_EXTENSION = "tls"  # ASGI scope extension our mTLS listener fills
CLIENT_CERT_KEY = "client_cert_der"


def _trusted_proxy(settings: Settings, host: str | None) -> bool:
    if not host or not settings.trusted_proxies:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(net, strict=False) for net in settings.trusted_proxies
    )


def client_certificate(request: HTTPConnection, settings: Settings) -> x509.Certificate | None:
    """The certificate the caller presented, if any (already TLS-verified when it
    came over our mTLS listener; the authenticator checks it again either way)."""
    der = request.scope.get("extensions", {}).get(TLS_EXTENSION, {}).get(CLIENT_CERT_KEY)
    if der:
        return x509.load_der_x509_certificate(der)
    header = settings.trusted_proxy_cert_header
    if header and (value := request.headers.get(header)):
        host = request.client.host if request.client else None
        if not _trusted_proxy(settings, host):
            raise Unauthorized("client certificate headers are accepted only from trusted proxies")
        try:
            return x509.load_pem_x509_certificate(unquote(value).encode())
        except ValueError as error:
            raise Unauthorized("the forwarded client certificate does not parse") from error
    return None


class Authenticator:
    def __init__(self, settings: Settings, verifier: TokenVerifier, authority: Any) -> None:
        self.settings = settings
        self.verifier = verifier
        self.authority = authority
        self.tenant_cache = TenantCache()

    def tenants(self, session: AsyncSession) -> CachedTenants:
        """Tenant lookups of one request, through the process's cache."""
        return self.tenant_cache.on(session)

    async def authenticate(
        self, request: HTTPConnection, session: AsyncSession, authorization: str | None = None
    ) -> Principal:
        """`authorization`: the header's value sent another way (a WebSocket's
        connection parameters, since browsers cannot set its headers)."""
        certificate = client_certificate(request, self.settings)
        if certificate is not None:
            return await self.certificate_principal(certificate, session)
        authorization = request.headers.get("authorization") or authorization
        if not authorization:
            raise Unauthorized("no credentials: send Authorization: Bearer <token>")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        verified = await self.verifier.verify(token.strip())
        system_auth_id = verified.claims.get(SYSTEM_AUTH_CLAIM)
        if system_auth_id and verified.local:
            row = await SystemAuthService(session).get(str(system_auth_id))
            if row is None:
                raise Unauthorized("the client credentials of this token were deleted")
            return principal_for(row)
        default = None if verified.local else self.settings.jwt_default_tenant
        return user_principal(verified.claims, default)

    async def certificate_principal(
        self, certificate: x509.Certificate, session: AsyncSession
    ) -> Principal:
        self.authority.verify_client_certificate(certificate, utcnow())
        serial = certificate_serial(certificate)
        found = await CertificateRepository(session).with_auth(serial)
        record, row = found if found is not None else (None, None)
        if record is None or not hmac.compare_digest(
            record.fingerprint, certificate.fingerprint(hashes.SHA256()).hex()
        ):
            # Same serial, other certificate: not one this server issued.
            raise Unauthorized("the client certificate is not known to this server")
        if record.revoked_at is not None:
            raise Unauthorized("the client certificate is revoked")
        if row is None:
            raise Unauthorized("the credentials of this certificate were deleted")
        return principal_for(row, certificate_serial=serial)


async def resolve_tenant(
    principal: Principal, header: str | None, tenants: CachedTenants
) -> TenantRef:
    """The Tenant header chooses the tenant; a credential bound to one tenant
    may only name that one."""
    bound = await tenants.resolve(principal.tenant) if principal.tenant else None
    if header:
        # Compared before any lookup: a bound credential learns nothing about
        # which other tenants exist.
        if bound is not None and header not in (bound.id, bound.external_id):
            raise Unauthorized(f"the credential is not valid for tenant {header!r}")
        return bound if bound is not None else await tenants.resolve(header)
    if bound is None:
        raise TenantRequired("this operation needs a tenant: send the Tenant header")
    return bound
