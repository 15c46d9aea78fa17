from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from compass.domain.label.filter import LabelCondition
from compass.domain.label.repository import LabelRepository, ObjectKind
from compass.domain.pagination import Page, PageRequest, paginate
from compass.domain.repository import TenantRepository
from compass.domain.runtime_context.model import RuntimeContextRow

__all__ = ["RuntimeContextRepository"]


class RuntimeContextRepository(TenantRepository[RuntimeContextRow]):
    row_type = RuntimeContextRow

    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        super().__init__(session, tenant_id)
        self.labels = LabelRepository(session, tenant_id)

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
