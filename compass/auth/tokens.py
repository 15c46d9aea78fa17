"""JWTs: user tokens (minted with the local key, or from an external OIDC issuer
verified with its JWKS) and the access tokens of OAuth clients.

A token whose signature and claims were verified is remembered (bounded, for a
minute at most and never past its `exp`): the same bytes verify the same way
until then. What a token stands for that can change (an OAuth client's system
auth) is still looked up on every request by the authenticator.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from cachetools import TLRUCache
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
VERIFIED_CACHE_SIZE = 4096
VERIFIED_CACHE_SECONDS = 60.0


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
    claims: dict[str, object]  # shared by the requests of one token: read, never change
    local: bool  # signed by this server's own key


def _verified_until(_token: str, verified: VerifiedToken, now: float) -> float:
    """Wall-clock time until which a verification may be reused."""
    expires = verified.claims.get("exp")
    if not isinstance(expires, int | float):
        return now  # not kept
    return min(float(expires), now + VERIFIED_CACHE_SECONDS)


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
    def __init__(
        self,
        settings: Settings,
        local_key: Ed25519PrivateKey,
        timer: Callable[[], float] = time.time,
    ) -> None:
        """`timer`: the wall clock the cache of verified tokens expires by (tests)."""
        self._public_key = local_key.public_key()
        self._settings = settings
        self._jwks = jwt.PyJWKClient(settings.jwt_jwks_url) if settings.jwt_jwks_url else None
        # Wall clock, as `exp` is; refusals are never kept.
        self._verified: TLRUCache[str, VerifiedToken] = TLRUCache(
            VERIFIED_CACHE_SIZE, ttu=_verified_until, timer=timer
        )

    async def verify(self, token: str) -> VerifiedToken:
        """Checks signature and claims; a JWKS download never blocks the event loop."""
        if (known := self._verified.get(token)) is not None:
            return known
        if self._jwks is None:
            verified = self._decode(token)
        else:
            verified = await asyncio.to_thread(self._decode, token)
        self._verified[token] = verified
        return verified

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
