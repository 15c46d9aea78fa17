"""Pairing and credentials of applications, runtimes and integration systems.

A one-time token pairs an owner: it creates a system auth whose ID becomes
the CN of the certificate the owner obtains with it. Tokens and client
secrets are random and kept only as SHA-256 hashes (they carry 256 bits of
entropy, so a slow hash adds nothing); a refused token is logged by a prefix
of its hash, never by its value.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from compass import metrics
from compass.db import utcnow
from compass.domain.system_auth.model import OneTimeTokenRow, SystemAuthRow
from compass.domain.system_auth.repository import OneTimeTokenRepository, SystemAuthRepository
from compass.errors import NotFound, Unauthorized

__all__ = [
    "CONNECTOR_PURPOSE",
    "CSR_PURPOSE",
    "Owner",
    "OwnerKind",
    "SystemAuthService",
    "hash_secret",
    "owner_of",
    "raw_token",
]

log = logging.getLogger("compass.auth")

CONNECTOR_PURPOSE = "CONNECTOR"  # from requestOneTimeTokenFor...: opens `configuration`
CSR_PURPOSE = "CSR"  # from `configuration`: signs one certificate request


class OwnerKind(enum.Enum):
    """Who a system auth belongs to, with the column that points at it."""

    APPLICATION = "app_id"
    RUNTIME = "runtime_id"
    INTEGRATION_SYSTEM = "integration_system_id"


@dataclass(frozen=True)
class Owner:
    kind: OwnerKind
    id: str
    tenant_id: str | None


def owner_of(row: SystemAuthRow) -> Owner:
    for kind in OwnerKind:
        owner_id = getattr(row, kind.value)
        if owner_id is not None:
            return Owner(kind, owner_id, row.tenant_id)
    raise LookupError(f"system auth {row.id} has no owner")


def raw_token(token: str, connector_url: str) -> tuple[str, str]:
    """The token and where to redeem it in one string (`raw`) and its base64
    (`rawEncoded`), as Compass hands them to applications and runtime agents."""
    raw = json.dumps({"token": token, "connectorURL": connector_url})
    return raw, base64.b64encode(raw.encode()).decode()


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class SystemAuthService:
    def __init__(self, session: AsyncSession, clock: Callable[[], datetime] = utcnow) -> None:
        self.auths = SystemAuthRepository(session)
        self.tokens = OneTimeTokenRepository(session)
        self.clock = clock

    async def pair(self, owner: Owner, lifetime: timedelta) -> tuple[SystemAuthRow, str]:
        """A new system auth for `owner` and the one-time token that opens it."""
        row = await self._new_auth(owner)
        return row, await self.issue_token(row.id, CONNECTOR_PURPOSE, lifetime)

    async def issue_token(self, system_auth_id: str, purpose: str, lifetime: timedelta) -> str:
        token = secrets.token_urlsafe(32)
        await self.tokens.add(
            OneTimeTokenRow(
                system_auth_id=system_auth_id,
                token_hash=hash_secret(token),
                purpose=purpose,
                expires_at=self.clock() + lifetime,
            )
        )
        metrics.record_token("issued", purpose)
        return token

    async def redeem(self, token: str, purposes: Sequence[str]) -> str:
        """Uses the token up and returns the ID of its system auth. One statement:
        of two concurrent redeemers only one gets it, and a token never outlives
        its system auth (its rows are deleted with it). A caller that refuses the
        request afterwards raises, and the rollback gives the token back."""
        system_auth_id = await self.tokens.redeem(hash_secret(token), purposes, self.clock())
        if system_auth_id is None:
            log.warning(
                "one-time token refused: unknown, used or expired (hash %s...)",
                hash_secret(token)[:12],
            )
            metrics.record_token("refused")
            raise Unauthorized("the one-time token is unknown, used or expired")
        metrics.record_token("redeemed")
        return system_auth_id

    async def client_credentials(self, owner: Owner) -> tuple[SystemAuthRow, str]:
        """A new OAuth client for `owner`; the secret is returned only here."""
        secret = secrets.token_urlsafe(32)
        row = await self._new_auth(owner, client_secret_hash=hash_secret(secret))
        return row, secret

    async def authenticate_client(self, client_id: str, secret: str) -> SystemAuthRow | None:
        row = await self.auths.get(client_id)
        if row is None or row.client_secret_hash is None:
            return None
        if not hmac.compare_digest(row.client_secret_hash, hash_secret(secret)):
            return None
        return row

    async def get(self, system_auth_id: str) -> SystemAuthRow | None:
        return await self.auths.get(system_auth_id)

    async def of_owners(
        self, kind: OwnerKind, owner_ids: Sequence[str]
    ) -> dict[str, list[SystemAuthRow]]:
        return await self.auths.for_owners(kind.value, owner_ids)

    async def delete(
        self, system_auth_id: str, kind: OwnerKind, tenant_id: str | None
    ) -> SystemAuthRow:
        """Deletes an auth of an owner of `kind` in `tenant_id` (None: global owners)."""
        row = await self.auths.get(system_auth_id)
        if (
            row is None
            or getattr(row, kind.value) is None
            or (tenant_id is not None and row.tenant_id != tenant_id)
        ):
            raise NotFound.of("system auth", system_auth_id)
        await self.auths.delete(row)
        return row

    async def _new_auth(self, owner: Owner, client_secret_hash: str | None = None) -> SystemAuthRow:
        row = SystemAuthRow(tenant_id=owner.tenant_id, client_secret_hash=client_secret_hash)
        setattr(row, owner.kind.value, owner.id)
        return await self.auths.add(row)
