"""Automatic scenario assignment queries, always scoped to one tenant."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from compass.domain.label.filter import LabelCondition
from compass.domain.label.repository import LabelRepository, ObjectKind
from compass.domain.pagination import Page, PageRequest, paginate
from compass.domain.runtime.model import RuntimeRow
from compass.domain.scenario_assignment.model import ScenarioAssignmentRow, ScenarioGrantRow

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

    async def grants_of(self, runtime_id: str) -> set[str]:
        """The scenarios assignments added to the runtime."""
        statement = sa.select(ScenarioGrantRow.scenario).where(
            ScenarioGrantRow.tenant_id == self.tenant_id,
            ScenarioGrantRow.runtime_id == runtime_id,
        )
        return set(await self.session.scalars(statement))

    async def granted_runtimes(self, scenario: str) -> list[str]:
        """IDs of the runtimes the assignment for `scenario` added it to."""
        statement = (
            sa.select(ScenarioGrantRow.runtime_id)
            .where(
                ScenarioGrantRow.tenant_id == self.tenant_id,
                ScenarioGrantRow.scenario == scenario,
            )
            .order_by(ScenarioGrantRow.runtime_id)
        )
        return list(await self.session.scalars(statement))

    async def granted_by_key(self, key: str) -> list[str]:
        """IDs of the runtimes granted a scenario by an assignment selecting on `key`."""
        statement = (
            sa.select(ScenarioGrantRow.runtime_id)
            .join(
                ScenarioAssignmentRow,
                sa.and_(
                    ScenarioAssignmentRow.tenant_id == ScenarioGrantRow.tenant_id,
                    ScenarioAssignmentRow.scenario == ScenarioGrantRow.scenario,
                ),
            )
            .where(ScenarioGrantRow.tenant_id == self.tenant_id)
            .where(ScenarioAssignmentRow.selector_key == key)
            .distinct()
            .order_by(ScenarioGrantRow.runtime_id)
        )
        return list(await self.session.scalars(statement))

    async def set_grants(self, runtime_id: str, add: set[str], remove: set[str]) -> None:
        if remove:
            await self.session.execute(
                sa.delete(ScenarioGrantRow).where(
                    ScenarioGrantRow.tenant_id == self.tenant_id,
                    ScenarioGrantRow.runtime_id == runtime_id,
                    ScenarioGrantRow.scenario.in_(sorted(remove)),
                )
            )
        for scenario in sorted(add):
            self.session.add(
                ScenarioGrantRow(runtime_id=runtime_id, scenario=scenario, tenant_id=self.tenant_id)
            )
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
