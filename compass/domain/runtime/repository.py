from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from compass.domain.label.filter import LabelCondition
from compass.domain.label.repository import LabelRepository, ObjectKind
from compass.domain.pagination import Page, PageRequest, paginate
from compass.domain.repository import ConnectableRepository
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
