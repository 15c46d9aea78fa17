from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from compass.domain.label.filter import LabelCondition
from compass.domain.label.repository import LabelRepository, ObjectKind
from compass.domain.pagination import Page, PageRequest, paginate
from compass.domain.repository import CONNECTED, ConnectableRepository
from compass.domain.runtime.model import RuntimeRow

__all__ = ["Contact", "RuntimeRepository"]


@dataclass(frozen=True)
class Contact:
    wrote: bool
    became_connected: bool


class RuntimeRepository(ConnectableRepository[RuntimeRow]):
    row_type = RuntimeRow

    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        super().__init__(session, tenant_id)
        self.labels = LabelRepository(session, tenant_id)

    async def name_taken(self, name: str, except_id: str | None = None) -> bool:
        statement = sa.select(RuntimeRow.id).where(
            RuntimeRow.tenant_id == self.tenant_id, RuntimeRow.name == name
        )
        if except_id is not None:
            statement = statement.where(RuntimeRow.id != except_id)
        return await self.session.scalar(statement) is not None

    async def record_contact(self, runtime_id: str, now: datetime, refresh: timedelta) -> Contact:
        """CONNECTED and seen now. Reads first: a runtime already connected and
        seen within `refresh` costs no write (agents poll often)."""
        found = (
            await self.session.execute(
                sa.select(RuntimeRow.status_condition, RuntimeRow.last_seen_at).where(
                    RuntimeRow.tenant_id == self.tenant_id, RuntimeRow.id == runtime_id
                )
            )
        ).first()
        if found is None:
            return Contact(False, False)
        status, last_seen = found
        this_runtime = sa.update(RuntimeRow).where(
            RuntimeRow.tenant_id == self.tenant_id, RuntimeRow.id == runtime_id
        )
        if status != CONNECTED:
            # Conditional: of concurrent first calls, exactly one connects it
            # (the others wait for its row lock, then find it CONNECTED).
            connected = await self.session.execute(
                this_runtime.where(RuntimeRow.status_condition != CONNECTED).values(
                    status_condition=CONNECTED, status_timestamp=now, last_seen_at=now
                )
            )
            if connected.rowcount == 1:
                return Contact(True, True)
        if last_seen is None or now - last_seen >= refresh:
            await self.session.execute(this_runtime.values(last_seen_at=now))
            return Contact(True, False)
        return Contact(False, False)

    async def set_status(self, runtime_id: str, condition: str, now: datetime) -> None:
        await self.session.execute(
            sa.update(RuntimeRow)
            .where(RuntimeRow.tenant_id == self.tenant_id, RuntimeRow.id == runtime_id)
            .values(status_condition=condition, status_timestamp=now)
            .execution_options(synchronize_session=False)
        )

    async def page(
        self,
        conditions: Sequence[LabelCondition],
        request: PageRequest,
        runtime_id: str | None = None,
    ) -> Page[RuntimeRow]:
        statement = self._base().where(
            *(self.labels.matching(ObjectKind.RUNTIME, RuntimeRow.id, c) for c in conditions)
        )
        if runtime_id is not None:
            statement = statement.where(RuntimeRow.id == runtime_id)
        return await paginate(self.session, statement, RuntimeRow, request, plain_rows=True)
