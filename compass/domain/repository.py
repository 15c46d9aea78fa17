"""The base of every tenant-scoped repository: each statement starts from one
query filtered by tenant, so no repository can forget the filter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["CONNECTED", "ConnectableRepository", "TenantRepository"]

CONNECTED = "CONNECTED"

Row = TypeVar("Row")


class TenantRepository(Generic[Row]):
    row_type: type[Row]

    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.session = session
        self.tenant_id = tenant_id

    def _base(self) -> sa.Select[Any]:
        return sa.select(self.row_type).where(self.row_type.tenant_id == self.tenant_id)

    def _base_rows(self) -> sa.Select[Any]:
        """`_base` for read-only rows of the table's columns (named as the
        model's fields): no model objects, far cheaper for many rows."""
        columns = self.row_type.__table__.c  # type: ignore[attr-defined]
        return sa.select(*columns).where(columns.tenant_id == self.tenant_id)

    async def get(self, row_id: str) -> Row | None:
        return await self.session.scalar(self._base().where(self.row_type.id == row_id))

    async def by_ids(self, ids: Sequence[str]) -> dict[str, Row]:
        if not ids:
            return {}
        rows = await self.session.scalars(self._base().where(self.row_type.id.in_(list(ids))))
        return {row.id: row for row in rows}

    async def add(self, row: Row) -> Row:
        self.session.add(row)
        await self.session.flush()
        return row

    async def save(self, row: Row) -> None:
        await self.session.flush()

    async def delete(self, row: Row) -> None:
        await self.session.delete(row)
        await self.session.flush()


class ConnectableRepository(TenantRepository[Row]):
    """Applications and runtimes: their status turns CONNECTED on first contact."""

    async def mark_connected(self, row_id: str, now: datetime) -> bool:
        """Reads first, so the frequent case (already connected) writes nothing."""
        status = await self.session.scalar(
            sa.select(self.row_type.status_condition).where(
                self.row_type.tenant_id == self.tenant_id, self.row_type.id == row_id
            )
        )
        if status is None or status == CONNECTED:
            return False
        await self.session.execute(
            sa.update(self.row_type)
            .where(self.row_type.tenant_id == self.tenant_id, self.row_type.id == row_id)
            .values(status_condition=CONNECTED, status_timestamp=now)
        )
        return True
