"""Automatic scenario assignment queries, always scoped to one tenant."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from compass.domain.label.filter import LabelCondition
from compass.domain.label.repository import LabelRepository, ObjectKind
from compass.domain.pagination import Page, PageRequest, paginate
from compass.domain.runtime.model import RuntimeRow
from compass.domain.scenario_assignment.model import ScenarioAssignmentRow

__all__ = ["ScenarioAssignmentRepository"]


class ScenarioAssignmentRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.labels = LabelRepository(session, tenant_id)

    def _base(self) -> sa.Select[tuple[ScenarioAssignmentRow]]:
        return sa.select(ScenarioAssignmentRow).where(
            ScenarioAssignmentRow.tenant_id == self.tenant_id
        )

    def _ordered(self, statement: sa.Select[tuple[ScenarioAssignmentRow]]) -> sa.Select:
        return statement.order_by(ScenarioAssignmentRow.created_at, ScenarioAssignmentRow.id)

    async def for_scenario(self, scenario: str) -> ScenarioAssignmentRow | None:
        return await self.session.scalar(
            self._base().where(ScenarioAssignmentRow.scenario == scenario)
        )

    async def for_selector(self, key: str, value: str) -> list[ScenarioAssignmentRow]:
        statement = self._base().where(
            ScenarioAssignmentRow.selector_key == key,
            ScenarioAssignmentRow.selector_value == value,
        )
        return list(await self.session.scalars(self._ordered(statement)))

    async def with_selector_keys(self, keys: Sequence[str]) -> list[ScenarioAssignmentRow]:
        if not keys:
            return []
        statement = self._base().where(ScenarioAssignmentRow.selector_key.in_(list(keys)))
        return list(await self.session.scalars(self._ordered(statement)))

    async def all(self) -> list[ScenarioAssignmentRow]:
        return list(await self.session.scalars(self._ordered(self._base())))

    async def page(self, request: PageRequest) -> Page[ScenarioAssignmentRow]:
        return await paginate(self.session, self._base(), ScenarioAssignmentRow, request)

    async def add(self, row: ScenarioAssignmentRow) -> ScenarioAssignmentRow:
        self.session.add(row)
        await self.session.flush()
        return row

    async def delete(self, row: ScenarioAssignmentRow) -> None:
        await self.session.delete(row)
        await self.session.flush()

    async def runtimes_matching(self, key: str, value: str) -> list[str]:
        """IDs of the tenant's runtimes whose label `key` is the JSON string `value`."""
        condition = LabelCondition(key, equals=value, mode="equals")
        statement = (
            sa.select(RuntimeRow.id)
            .where(
                RuntimeRow.tenant_id == self.tenant_id,
                self.labels.matching(ObjectKind.RUNTIME, RuntimeRow.id, condition),
            )
            .order_by(RuntimeRow.created_at, RuntimeRow.id)
        )
        return list(await self.session.scalars(statement))
