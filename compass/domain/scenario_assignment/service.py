"""Automatic scenario assignment: runtimes carrying a label `key` whose value is
the string `value` are put in a scenario, now and whenever they get the label.

One assignment per scenario; the scenario must be in the tenant's `scenarios`
label definition, and stays there while the assignment exists. Deleting an
assignment takes the scenario away from the runtimes its selector matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from compass.db import utcnow
from compass.domain.label.model import LabelRow
from compass.domain.label.repository import LabelRepository, ObjectKind
from compass.domain.label.scenarios import SCENARIOS_KEY, scenario_names
from compass.domain.label.service import LabelService
from compass.domain.pagination import Page, PageRequest
from compass.domain.scenario_assignment.model import ScenarioAssignmentRow
from compass.domain.scenario_assignment.repository import ScenarioAssignmentRepository
from compass.errors import InvalidData, NotFound, NotUnique
from compass.notifications.watch import RuntimeWatch

__all__ = ["LabelSelector", "ScenarioAssignmentService"]


@dataclass(frozen=True)
class LabelSelector:
    key: str
    value: str


class ScenarioAssignmentService:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.assignments = ScenarioAssignmentRepository(session, tenant_id)
        self.labels = LabelService(session, tenant_id)
        self.label_rows = LabelRepository(session, tenant_id)
        self.watch = RuntimeWatch(session, tenant_id)

    async def create(self, scenario: str, selector: LabelSelector) -> ScenarioAssignmentRow:
        definition = await self.labels.definitions.ensure_scenarios()
        known = (definition.schema_ or {}).get("items", {}).get("enum", [])
        if scenario not in known:
            raise InvalidData(
                f"scenario {scenario!r} is not defined: add it to the scenarios label definition"
            )
        if await self.assignments.for_scenario(scenario) is not None:
            raise NotUnique(f"an automatic assignment for scenario {scenario!r} already exists")
        row = await self.assignments.add(
            ScenarioAssignmentRow(
                tenant_id=self.tenant_id,
                scenario=scenario,
                selector_key=selector.key,
                selector_value=selector.value,
                created_at=utcnow(),
            )
        )
        runtime_ids = await self.assignments.runtimes_matching(selector.key, selector.value)
        current = await self._scenario_labels(runtime_ids)
        for runtime_id in runtime_ids:
            label = current.get(runtime_id)
            async with self.watch.watching(runtime_id):
                await self._add(runtime_id, None if label is None else label.value, [scenario])
        return row

    async def get_for_scenario(self, scenario: str) -> ScenarioAssignmentRow | None:
        return await self.assignments.for_scenario(scenario)

    async def list(self, request: PageRequest) -> Page[ScenarioAssignmentRow]:
        return await self.assignments.page(request)

    async def for_selector(self, selector: LabelSelector) -> list[ScenarioAssignmentRow]:
        return await self.assignments.for_selector(selector.key, selector.value)

    async def delete_for_scenario(self, scenario: str) -> ScenarioAssignmentRow:
        row = await self.assignments.for_scenario(scenario)
        if row is None:
            raise NotFound(f"no automatic assignment for scenario {scenario!r}")
        await self._delete(row)
        return row

    async def delete_for_selector(self, selector: LabelSelector) -> list[ScenarioAssignmentRow]:
        rows = await self.assignments.for_selector(selector.key, selector.value)
        for row in rows:
            await self._delete(row)
        return rows

    async def apply_to_runtime(self, runtime_id: str) -> None:
        """Puts the runtime in the scenarios of every assignment its labels match."""
        labels = await self.labels.of(ObjectKind.RUNTIME, runtime_id)
        keys = [key for key, value in labels.items() if isinstance(value, str)]
        wanted = [
            row.scenario
            for row in await self.assignments.with_selector_keys(keys)
            if labels[row.selector_key] == row.selector_value
        ]
        if wanted:
            await self._add(runtime_id, labels.get(SCENARIOS_KEY), wanted)

    async def _scenario_labels(self, runtime_ids: Sequence[str]) -> dict[str, LabelRow]:
        found = await self.label_rows.for_objects(ObjectKind.RUNTIME, runtime_ids)
        return {
            runtime_id: row
            for runtime_id, rows in found.items()
            for row in rows
            if row.key == SCENARIOS_KEY
        }

    async def _add(self, runtime_id: str, current: Any, scenarios: Sequence[str]) -> None:
        existing = scenario_names(current)
        merged = existing + [s for s in scenarios if s not in existing]
        if merged != existing:
            await self.labels.set(ObjectKind.RUNTIME, runtime_id, SCENARIOS_KEY, merged)

    async def _delete(self, row: ScenarioAssignmentRow) -> None:
        runtime_ids = await self.assignments.runtimes_matching(row.selector_key, row.selector_value)
        for label in (await self._scenario_labels(runtime_ids)).values():
            async with self.watch.watching(label.runtime_id):
                await self._take_away(label, row.scenario)
        await self.assignments.delete(row)

    async def _take_away(self, label: LabelRow, scenario: str) -> None:
        remaining = [s for s in scenario_names(label.value) if s != scenario]
        if not remaining:
            await self.label_rows.delete(label)
        elif remaining != label.value:
            await self.label_rows.upsert(ObjectKind.RUNTIME, label.runtime_id, label.key, remaining)
