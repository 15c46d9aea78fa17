"""Queries of the provisioner's tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from compass.domain.repository import TenantRepository
from compass.provisioner.model import ACTIVE_STATES, OperationRow, ProvisionedRuntimeRow

__all__ = ["OperationRepository", "ProvisionedRuntimeRepository", "SupervisionRepository"]


class OperationRepository(TenantRepository[OperationRow]):
    row_type = OperationRow

    async def update(self, operation_id: str, values: dict[str, object]) -> None:
        await self.session.execute(
            sa.update(OperationRow)
            .where(OperationRow.tenant_id == self.tenant_id, OperationRow.id == operation_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def active_for(self, runtime_id: str) -> OperationRow | None:
        return await self.session.scalar(
            self._base().where(
                OperationRow.runtime_id == runtime_id, OperationRow.state.in_(ACTIVE_STATES)
            )
        )

    async def last_for(self, runtime_ids: Sequence[str]) -> dict[str, OperationRow]:
        """The newest operation of each runtime."""
        if not runtime_ids:
            return {}
        rows = await self.session.scalars(
            self._base()
            .where(OperationRow.runtime_id.in_(list(runtime_ids)))
            .order_by(OperationRow.created_at, OperationRow.id)
        )
        return {row.runtime_id: row for row in rows}


class ProvisionedRuntimeRepository(TenantRepository[ProvisionedRuntimeRow]):
    row_type = ProvisionedRuntimeRow

    async def get(self, row_id: str) -> ProvisionedRuntimeRow | None:
        return await self.session.scalar(
            self._base().where(ProvisionedRuntimeRow.runtime_id == row_id)
        )

    async def by_ids(self, ids: Sequence[str]) -> dict[str, ProvisionedRuntimeRow]:
        if not ids:
            return {}
        rows = await self.session.scalars(
            self._base().where(ProvisionedRuntimeRow.runtime_id.in_(list(ids)))
        )
        return {row.runtime_id: row for row in rows}


class SupervisionRepository:
    """Leases on local agents, across tenants: the supervisor is the system's own."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, holder: str, now: datetime, lease: timedelta) -> None:
        """Takes every supervised local runtime that nobody holds, or whose holder
        let its lease run out, and renews the ones `holder` has."""
        table = ProvisionedRuntimeRow
        await self.session.execute(
            sa.update(table)
            .where(
                table.supervised.is_(True),
                sa.or_(
                    table.supervisor.is_(None),
                    table.supervisor == holder,
                    table.supervisor_expires_at < now,
                ),
            )
            .values(supervisor=holder, supervisor_expires_at=now + lease)
            .execution_options(synchronize_session=False)
        )

    async def held_by(self, holder: str) -> list[ProvisionedRuntimeRow]:
        rows = await self.session.scalars(
            sa.select(ProvisionedRuntimeRow).where(
                ProvisionedRuntimeRow.supervisor == holder,
                ProvisionedRuntimeRow.supervised.is_(True),
            )
        )
        return list(rows)

    async def set_pid(self, runtime_id: str, pid: int | None) -> None:
        await self.session.execute(
            sa.update(ProvisionedRuntimeRow)
            .where(ProvisionedRuntimeRow.runtime_id == runtime_id)
            .values(agent_pid=pid)
            .execution_options(synchronize_session=False)
        )

    async def set_supervised(self, runtime_id: str, supervised: bool) -> None:
        await self.session.execute(
            sa.update(ProvisionedRuntimeRow)
            .where(ProvisionedRuntimeRow.runtime_id == runtime_id)
            .values(supervised=supervised)
            .execution_options(synchronize_session=False)
        )

    async def agent_pid(self, runtime_id: str) -> int | None:
        return await self.session.scalar(
            sa.select(ProvisionedRuntimeRow.agent_pid).where(
                ProvisionedRuntimeRow.runtime_id == runtime_id
            )
        )

    async def release(self, holder: str, keep_pids: bool) -> None:
        """Gives up every lease of `holder` (at shutdown)."""
        values: dict[str, object] = {"supervisor": None, "supervisor_expires_at": None}
        if not keep_pids:
            values["agent_pid"] = None
        await self.session.execute(
            sa.update(ProvisionedRuntimeRow)
            .where(ProvisionedRuntimeRow.supervisor == holder)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
