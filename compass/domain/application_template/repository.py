from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from compass.domain.application_template.model import ApplicationTemplateRow
from compass.domain.pagination import Page, PageRequest, paginate

__all__ = ["ApplicationTemplateRepository"]


class ApplicationTemplateRepository:
    """Templates are global: no tenant filter here."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _base(self) -> sa.Select[tuple[ApplicationTemplateRow]]:
        return sa.select(ApplicationTemplateRow)

    async def get(self, template_id: str) -> ApplicationTemplateRow | None:
        return await self.session.scalar(
            self._base().where(ApplicationTemplateRow.id == template_id)
        )

    async def by_name(self, name: str) -> ApplicationTemplateRow | None:
        return await self.session.scalar(self._base().where(ApplicationTemplateRow.name == name))

    async def name_taken(self, name: str, except_id: str | None = None) -> bool:
        statement = sa.select(ApplicationTemplateRow.id).where(ApplicationTemplateRow.name == name)
        if except_id is not None:
            statement = statement.where(ApplicationTemplateRow.id != except_id)
        return await self.session.scalar(statement) is not None

    async def add(self, row: ApplicationTemplateRow) -> ApplicationTemplateRow:
        self.session.add(row)
        await self.session.flush()
        return row

    async def save(self, row: ApplicationTemplateRow) -> None:
        await self.session.flush()

    async def delete(self, row: ApplicationTemplateRow) -> None:
        await self.session.delete(row)
        await self.session.flush()

    async def page(self, request: PageRequest) -> Page[ApplicationTemplateRow]:
        return await paginate(self.session, self._base(), ApplicationTemplateRow, request)
