from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from compass.domain.label.filter import LabelCondition
from compass.domain.label.repository import LabelRepository, ObjectKind
from compass.domain.pagination import Page, PageRequest, paginate
from compass.domain.runtime_context.model import RuntimeContextRow

__all__ = ["RuntimeContextRepository"]


class RuntimeContextRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.labels = LabelRepository(session, tenant_id)

    def _base(self) -> sa.Select[tuple[RuntimeContextRow]]:
        return sa.select(RuntimeContextRow).where(RuntimeContextRow.tenant_id == self.tenant_id)

    async def get(self, context_id: str) -> RuntimeContextRow | None:
        return await self.session.scalar(self._base().where(RuntimeContextRow.id == context_id))

    async def add(self, row: RuntimeContextRow) -> RuntimeContextRow:
        self.session.add(row)
        await self.session.flush()
        return row

    async def save(self, row: RuntimeContextRow) -> None:
        await self.session.flush()

    async def delete(self, row: RuntimeContextRow) -> None:
        await self.session.delete(row)
        await self.session.flush()

    async def page(
        self,
        conditions: Sequence[LabelCondition],
        request: PageRequest,
        runtime_id: str | None = None,
    ) -> Page[RuntimeContextRow]:
        statement = self._base().where(
            *(
                self.labels.matching(ObjectKind.RUNTIME_CONTEXT, RuntimeContextRow.id, c)
                for c in conditions
            )
        )
        if runtime_id is not None:
            statement = statement.where(RuntimeContextRow.runtime_id == runtime_id)
        return await paginate(self.session, statement, RuntimeContextRow, request)
