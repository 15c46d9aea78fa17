"""Writing and claiming outbox rows.

A service calls `enqueue` inside its transaction; the row becomes visible to
workers only when that transaction commits, so a rolled-back change leaves no
side effect behind and a crash after commit loses none.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from compass.db import utcnow
from compass.notifications.model import OutboxRow

__all__ = ["enqueue", "OutboxRepository", "PENDING_FLAG"]

# Set in session.info when a transaction wrote outbox rows, so the commit can wake the worker.
PENDING_FLAG = "compass.outbox.pending"


async def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    delay: timedelta = timedelta(0),
) -> OutboxRow:
    """`delay`: the row becomes due that much later (a step that waits for something)."""
    row = OutboxRow(kind=kind, payload=payload, available_at=utcnow() + delay)
    session.add(row)
    await session.flush()
    session.info[PENDING_FLAG] = True
    return row


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def due(self, now: datetime, limit: int) -> list[OutboxRow]:
        rows = await self.session.scalars(
            sa.select(OutboxRow)
            .where(OutboxRow.available_at <= now)
            .order_by(OutboxRow.available_at, OutboxRow.id)
            .limit(limit)
        )
        return list(rows)

    async def claim(self, row: OutboxRow, now: datetime, lease: timedelta) -> bool:
        """Takes the row for `lease`; false when another worker was first."""
        result = await self.session.execute(
            sa.update(OutboxRow)
            .where(OutboxRow.id == row.id, OutboxRow.available_at == row.available_at)
            .values(available_at=now + lease, attempts=OutboxRow.attempts + 1)
            # `row` keeps the values it was read with; the worker counts from them.
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    async def complete(self, row_id: str, lease_until: datetime) -> None:
        """Only while the lease is still ours: after it ran out, the row belongs to
        whichever worker took it next."""
        await self.session.execute(
            sa.delete(OutboxRow).where(
                OutboxRow.id == row_id, OutboxRow.available_at == lease_until
            )
        )

    async def retry_at(
        self, row_id: str, lease_until: datetime, when: datetime, error: str
    ) -> None:
        await self.session.execute(
            sa.update(OutboxRow)
            .where(OutboxRow.id == row_id, OutboxRow.available_at == lease_until)
            .values(available_at=when, last_error=error[:2000])
        )
