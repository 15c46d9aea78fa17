"""Automatic scenario assignment: runtimes carrying a label `key` whose value is
the string `value` are in a scenario while they carry it.

One assignment per scenario; the scenario must be in the tenant's `scenarios`
label definition, and stays there while the assignment exists. A scenario an
assignment adds is recorded as a grant: when the runtime's labels stop
matching the selector, or the assignment is deleted, the scenario goes again.
A scenario the runtime had by hand has no grant and stays; writing a granted
scenario by hand makes it the runtime's own. Callers that may not change a
runtime's scenarios (the runtime itself) are refused any label change that
would add or remove one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from compass.db import utcnow
from compass.domain.label.model import LabelDefinitionRow
from compass.domain.label.repository import LabelRepository, ObjectKind
from compass.domain.label.scenarios import SCENARIOS_KEY, scenario_names
from compass.domain.label.service import LabelDefinitionService, LabelService
from compass.domain.pagination import Page, PageRequest
from compass.domain.scenario_assignment.model import ScenarioAssignmentRow
from compass.domain.scenario_assignment.repository import ScenarioAssignmentRepository
from compass.errors import InvalidData, InvalidOperation, NotFound, Unauthorized
from compass.notifications.watch import RuntimeWatch

__all__ = ["LabelKeyDeletion", "LabelSelector", "ScenarioAssignmentService"]


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
            raise InvalidOperation("a given scenario already has an assignment")
        row = await self.assignments.add(
            ScenarioAssignmentRow(
                tenant_id=self.tenant_id,
                scenario=scenario,
                selector_key=selector.key,
                selector_value=selector.value,
                created_at=utcnow(),
            )
        )
        for runtime_id in await self.assignments.runtimes_matching(selector.key, selector.value):
            async with self.watch.watching(runtime_id):
                await self.follow_selectors(runtime_id)
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

    async def follow_selectors(
        self,
        runtime_id: str,
        written_by_hand: Sequence[str] | None = None,
        scenarios_locked: bool = False,
    ) -> None:
        """After a change of the runtime's labels: it holds the scenarios of the
        assignments its labels match, and loses those granted by others.

        `written_by_hand`: the scenarios the change wrote explicitly (their
        grants end: they are the runtime's own now). `scenarios_locked`: the
        caller may not change the runtime's scenarios; a change that would is
        refused with Unauthorized (the caller's transaction rolls back)."""
        labels = await self.labels.of(ObjectKind.RUNTIME, runtime_id)
        current = scenario_names(labels.get(SCENARIOS_KEY))
        granted = await self.assignments.grants_of(runtime_id)
        own = set() if scenarios_locked else granted & set(written_by_hand or ())
        wanted = await self._wanted(labels)
        revoked = granted - own - set(wanted)
        scenarios = [s for s in current if s not in revoked]
        added = {s for s in wanted if s not in scenarios}
        scenarios += [s for s in wanted if s in added]
        if scenarios_locked and (revoked or added):
            raise Unauthorized(
                "runtime callers may not change their scenarios: the change would "
                + "; ".join(
                    [f"add {s!r}" for s in sorted(added)]
                    + [f"remove {s!r}" for s in sorted(revoked)]
                )
                + " (automatic scenario assignment)"
            )
        await self.assignments.set_grants(runtime_id, add=added - granted, remove=revoked | own)
        if scenarios != current:
            await self._write(runtime_id, scenarios)

    async def _wanted(self, labels: dict[str, Any]) -> list[str]:
        keys = [key for key, value in labels.items() if isinstance(value, str)]
        return [
            row.scenario
            for row in await self.assignments.with_selector_keys(keys)
            if labels[row.selector_key] == row.selector_value
        ]

    async def _write(self, runtime_id: str, scenarios: list[str]) -> None:
        if scenarios:
            await self.labels.set(ObjectKind.RUNTIME, runtime_id, SCENARIOS_KEY, scenarios)
            return
        row = await self.label_rows.get(ObjectKind.RUNTIME, runtime_id, SCENARIOS_KEY)
        if row is not None:
            await self.label_rows.delete(row)

    async def _delete(self, row: ScenarioAssignmentRow) -> None:
        """Takes the scenario away from exactly the runtimes it was granted to."""
        await self.assignments.delete(row)
        for runtime_id in await self.assignments.granted_runtimes(row.scenario):
            async with self.watch.watching(runtime_id):
                await self.follow_selectors(runtime_id)


class LabelKeyDeletion:
    """Deleting a label definition (with its labels, when asked): the runtimes that
    lose a selector's label lose the scenario it granted them."""

    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.definitions = LabelDefinitionService(session, tenant_id)
        self.assignments = ScenarioAssignmentService(session, tenant_id)

    async def delete(self, key: str, delete_related_labels: bool) -> LabelDefinitionRow:
        watch = self.assignments.watch
        runtime_ids = await self.assignments.assignments.granted_by_key(key)
        before = {runtime_id: await watch.snapshot(runtime_id) for runtime_id in runtime_ids}
        row = await self.definitions.delete(key, delete_related_labels)
        for runtime_id in runtime_ids:
            await self.assignments.follow_selectors(runtime_id)
        await watch.session.flush()
        for runtime_id in runtime_ids:
            await watch.report(runtime_id, before[runtime_id], await watch.snapshot(runtime_id))
        return row
