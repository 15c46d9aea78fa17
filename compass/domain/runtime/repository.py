from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from compass.domain.label.filter import LabelCondition
from compass.domain.label.repository import LabelRepository, ObjectKind
from compass.domain.pagination import Page, PageRequest, paginate
from compass.domain.repository import CONNECTED, ConnectableRepository
from compass.domain.runtime.model import RuntimeRow

__all__ = ["RuntimeRepository"]


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

    async def record_contact(self, runtime_id: str, now: datetime, refresh: timedelta) -> bool:
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
            return False
        status, last_seen = found
        values: dict[str, object] = {}
        if status != CONNECTED:
            values.update(status_condition=CONNECTED, status_timestamp=now)
        if last_seen is None or now - last_seen >= refresh:
            values["last_seen_at"] = now
        if not values:
            return False
        await self.session.execute(
            sa.update(RuntimeRow)
            .where(RuntimeRow.tenant_id == self.tenant_id, RuntimeRow.id == runtime_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return True

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
        return await paginate(self.session, statement, RuntimeRow, request)
