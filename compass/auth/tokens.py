"""JWTs: user tokens (minted with the local key, or from an external OIDC issuer
verified with its JWKS) and the access tokens of OAuth clients."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from compass.auth.principal import ConsumerType, Principal
from compass.config import LOCAL_TOKEN_ISSUER, Settings
from compass.db import utcnow
from compass.errors import Unauthorized

__all__ = [
    "SYSTEM_AUTH_CLAIM",
    "TokenVerifier",
    "VerifiedToken",
    "mint_client_token",
    "mint_user_token",
    "user_principal",
]

SYSTEM_AUTH_CLAIM = "compass_system_auth"


def mint_user_token(
    key: Ed25519PrivateKey,
    *,
    subject: str,
    tenant: str | None,
    scopes: list[str],
    lifetime: timedelta,
    now: datetime | None = None,
) -> str:
    issued = now or utcnow()
    claims: dict[str, object] = {
        "iss": LOCAL_TOKEN_ISSUER,
        "sub": subject,
        "scopes": " ".join(scopes),
        "iat": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
        "jti": str(uuid.uuid4()),
    }
    if tenant is not None:
        claims["tenant"] = tenant
    return jwt.encode(claims, key, algorithm="EdDSA")


def mint_client_token(
    key: Ed25519PrivateKey, *, system_auth_id: str, lifetime: timedelta, now: datetime | None = None
) -> str:
    """An access token for an OAuth client: it names the system auth, which is
    looked up on every request, so deleting the client ends the token."""
    issued = now or utcnow()
    claims = {
        "iss": LOCAL_TOKEN_ISSUER,
        "sub": system_auth_id,
        SYSTEM_AUTH_CLAIM: system_auth_id,
        "iat": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, key, algorithm="EdDSA")


@dataclass(frozen=True)
class VerifiedToken:
    claims: dict[str, object]
    local: bool  # signed by this server's own key


def user_principal(claims: dict[str, object], default_tenant: str | None = None) -> Principal:
    """Only a token without a `tenant` claim is unbound (or bound to
    `default_tenant`); an empty or non-text claim is refused, not read as "any"."""
    scopes = claims.get("scopes", "")
    if isinstance(scopes, list):
        scope_set = frozenset(str(s) for s in scopes)
    else:
        scope_set = frozenset(str(scopes).split())
    tenant = claims.get("tenant", default_tenant)
    if tenant is not None and (not isinstance(tenant, str) or not tenant.strip()):
        raise Unauthorized("the token's tenant claim must name a tenant")
    return Principal(
        ConsumerType.USER,
        str(claims.get("sub") or claims.get("email") or "unknown"),
        tenant,
        scope_set,
    )


class TokenVerifier:
    def __init__(self, settings: Settings, local_key: Ed25519PrivateKey) -> None:
        self._public_key = local_key.public_key()
        self._settings = settings
        self._jwks = jwt.PyJWKClient(settings.jwt_jwks_url) if settings.jwt_jwks_url else None

    async def verify(self, token: str) -> VerifiedToken:
        """Checks signature and claims; a JWKS download never blocks the event loop."""
        if self._jwks is None:
            return self._decode(token)
        return await asyncio.to_thread(self._decode, token)

    def _decode(self, token: str) -> VerifiedToken:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise Unauthorized("the bearer token is malformed") from error
        # Tokens of this server carry no key ID; an external issuer's always do.
        if not header.get("kid"):
            return VerifiedToken(self._decode_local(token), local=True)
        return VerifiedToken(self._decode_external(token), local=False)

    def _decode_local(self, token: str) -> dict[str, object]:
        try:
            return jwt.decode(
                token,
                self._public_key,
                algorithms=["EdDSA"],
                issuer=LOCAL_TOKEN_ISSUER,
                options={"require": ["exp", "iat", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise Unauthorized(f"the bearer token is not valid: {error}") from error

    def _decode_external(self, token: str) -> dict[str, object]:
        if self._jwks is None:
            raise Unauthorized("the bearer token is not signed by this server")
        try:
            signing_key = self._jwks.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                signing_key.key,
                algorithms=["RS256", "RS384", "RS512", "ES256", "ES384", "EdDSA"],
                issuer=self._settings.jwt_issuer,
                audience=self._settings.jwt_audience,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise Unauthorized(f"the bearer token is not valid: {error}") from error
        if "tenant" not in claims and self._settings.jwt_default_tenant is None:
            # It could otherwise choose any tenant with the Tenant header.
            raise Unauthorized("tokens of the external issuer need a tenant claim")
        return claims
