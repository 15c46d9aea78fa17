"""Queries for system auths, one-time tokens and issued certificates."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from compass.domain.columns import insert_row
from compass.domain.system_auth.model import CertificateRow, OneTimeTokenRow, SystemAuthRow

__all__ = ["CertificateRepository", "OneTimeTokenRepository", "SystemAuthRepository"]


class SystemAuthRepository:
    """System auths are looked up by ID before a tenant is known (the ID is
    the credential's subject), so this repository is not tenant-scoped; the
    services check ownership."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, system_auth_id: str) -> SystemAuthRow | None:
        return await self.session.get(SystemAuthRow, system_auth_id)

    async def add(self, row: SystemAuthRow) -> SystemAuthRow:
        self.session.add(row)
        await self.session.flush()
        return row

    async def delete(self, row: SystemAuthRow) -> None:
        await self.session.delete(row)
        await self.session.flush()

    async def for_owners(
        self, column: str, owner_ids: Sequence[str]
    ) -> dict[str, list[SystemAuthRow]]:
        result: dict[str, list[SystemAuthRow]] = defaultdict(list)
        if not owner_ids:
            return result
        owner = getattr(SystemAuthRow, column)
        rows = await self.session.scalars(
            sa.select(SystemAuthRow)
            .where(owner.in_(list(owner_ids)))
            .order_by(SystemAuthRow.created_at, SystemAuthRow.id)
        )
        for row in rows:
            result[getattr(row, column)].append(row)
        return result


class OneTimeTokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: OneTimeTokenRow) -> OneTimeTokenRow:
        await insert_row(self.session, row)
        return row

    async def redeem(self, token_hash: str, purposes: Sequence[str], now: datetime) -> str | None:
        """Marks the token used and returns its system auth ID, in one statement:
        of two concurrent redeemers only one gets it. On the table, not the
        model: no token object of the session needs to learn of it."""
        table = OneTimeTokenRow.__table__
        result = await self.session.execute(
            sa.update(table)
            .where(
                table.c.token_hash == token_hash,
                table.c.used_at.is_(None),
                table.c.expires_at > now,
                table.c.purpose.in_(list(purposes)),
            )
            .values(used_at=now)
            .returning(table.c.system_auth_id)
        )
        return result.scalar_one_or_none()


class CertificateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: CertificateRow) -> CertificateRow:
        await insert_row(self.session, row)
        return row

    async def get(self, serial: str) -> CertificateRow | None:
        return await self.session.get(CertificateRow, serial)

    async def with_auth(self, serial: str) -> tuple[CertificateRow, SystemAuthRow | None] | None:
        """The certificate and its system auth in one statement (every request
        authenticated by a certificate asks for both)."""
        found = (
            await self.session.execute(
                sa.select(CertificateRow, SystemAuthRow)
                .outerjoin(SystemAuthRow, SystemAuthRow.id == CertificateRow.system_auth_id)
                .where(CertificateRow.serial == serial)
            )
        ).first()
        return None if found is None else (found[0], found[1])

    async def revoke(self, serial: str, now: datetime) -> bool:
        result = await self.session.execute(
            sa.update(CertificateRow)
            .where(CertificateRow.serial == serial, CertificateRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return result.rowcount == 1
