"""Runtimes: the clusters that consume applications' APIs and events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from compass.db import utcnow
from compass.domain.audience import EVERYONE, Audience
from compass.domain.label.filter import LabelCondition
from compass.domain.label.model import LabelRow
from compass.domain.label.repository import ObjectKind
from compass.domain.label.scenarios import DEFAULT_SCENARIO, SCENARIOS_KEY, scenario_names
from compass.domain.label.service import LabelService
from compass.domain.pagination import Page, PageRequest
from compass.domain.runtime.commands import RuntimeCommand
from compass.domain.runtime.model import RuntimeRow
from compass.domain.runtime.repository import RuntimeRepository
from compass.domain.scenario_assignment.service import ScenarioAssignmentService
from compass.errors import NotFound, NotUnique
from compass.notifications.watch import ABSENT, RuntimeWatch

__all__ = ["RuntimeLabels", "RuntimeService"]

INITIAL = "INITIAL"
SEEN_REFRESH = timedelta(seconds=5)


class RuntimeService:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.runtimes = RuntimeRepository(session, tenant_id)
        self.labels = LabelService(session, tenant_id)
        self.assignments = ScenarioAssignmentService(session, tenant_id)
        self.watch = RuntimeWatch(session, tenant_id)

    async def register(self, command: RuntimeCommand) -> RuntimeRow:
        row = await self._register(command)
        await self.watch.report(row.id, ABSENT, await self.watch.snapshot(row.id))
        return row

    async def _register(self, command: RuntimeCommand) -> RuntimeRow:
        if await self.runtimes.name_taken(command.name):
            raise NotUnique(f"a runtime named {command.name!r} already exists")
        now = utcnow()
        row = await self.runtimes.add(
            RuntimeRow(
                tenant_id=self.tenant_id,
                name=command.name,
                description=command.description,
                status_condition=command.status_condition or INITIAL,
                status_timestamp=now,
                created_at=now,
            )
        )
        # Without scenarios a runtime is in DEFAULT, as an application is.
        labels = {SCENARIOS_KEY: [DEFAULT_SCENARIO], **(command.labels or {})}
        await self.labels.set_many(ObjectKind.RUNTIME, row.id, labels)
        await self.assignments.follow_selectors(
            row.id, written_by_hand=scenario_names(labels[SCENARIOS_KEY])
        )
        return row

    async def update(
        self, runtime_id: str, command: RuntimeCommand, scenarios_locked: bool = False
    ) -> RuntimeRow:
        """Name, description and status as given; labels, when given, replace the
        existing ones (scenarios stay unless the input sets them).
        `scenarios_locked`: the caller may not change the runtime's scenarios."""
        await self.get_existing(runtime_id)
        async with self.watch.watching(runtime_id):
            return await self._update(runtime_id, command, scenarios_locked)

    async def _update(
        self, runtime_id: str, command: RuntimeCommand, scenarios_locked: bool
    ) -> RuntimeRow:
        row = await self.get_existing(runtime_id)
        if await self.runtimes.name_taken(command.name, except_id=runtime_id):
            raise NotUnique(f"a runtime named {command.name!r} already exists")
        row.name = command.name
        row.description = command.description
        if (
            command.status_condition is not None
            and command.status_condition != row.status_condition
        ):
            row.status_condition = command.status_condition
            row.status_timestamp = utcnow()
        await self.runtimes.save(row)
        if command.labels is not None:
            await self.labels.replace(
                ObjectKind.RUNTIME, row.id, command.labels, keep=(SCENARIOS_KEY,)
            )
            written = command.labels.get(SCENARIOS_KEY)
            await self.assignments.follow_selectors(
                row.id,
                written_by_hand=None if written is None else scenario_names(written),
                scenarios_locked=scenarios_locked,
            )
        return row

    async def unregister(self, runtime_id: str) -> RuntimeRow:
        row = await self.get_existing(runtime_id)
        async with self.watch.watching(runtime_id):
            await self.runtimes.delete(row)
        return row

    async def get(self, runtime_id: str, audience: Audience = EVERYONE) -> RuntimeRow | None:
        if audience.runtime_id not in (None, runtime_id) or audience.application_id:
            return None
        return await self.runtimes.get(runtime_id)

    async def get_existing(self, runtime_id: str) -> RuntimeRow:
        row = await self.runtimes.get(runtime_id)
        if row is None:
            raise NotFound.of("runtime", runtime_id)
        return row

    async def list(
        self,
        conditions: Sequence[LabelCondition],
        request: PageRequest,
        audience: Audience = EVERYONE,
    ) -> Page[RuntimeRow]:
        """A runtime sees only itself."""
        return await self.runtimes.page(conditions, request, audience.runtime_id)

    async def mark_connected(self, runtime_id: str, seen_refresh: timedelta = SEEN_REFRESH) -> bool:
        """A call of the runtime: CONNECTED, and seen (for the agent's connection status).
        True when that wrote something (the caller commits it)."""
        contact = await self.runtimes.record_contact(runtime_id, utcnow(), seen_refresh)
        if contact.became_connected:
            row = await self.get_existing(runtime_id)
            await self.watch.connected(runtime_id, row.name)
        return contact.wrote


class RuntimeLabels:
    """Labels of one tenant's runtimes; the runtime must exist. Assigned scenarios
    follow every change; `scenarios_locked`: the caller may not change the
    runtime's scenarios (see ScenarioAssignmentService.follow_selectors)."""

    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.runtimes = RuntimeService(session, tenant_id)
        self.labels = LabelService(session, tenant_id)

    async def set(
        self, runtime_id: str, key: str, value: object, scenarios_locked: bool = False
    ) -> LabelRow:
        await self.runtimes.get_existing(runtime_id)
        async with self.runtimes.watch.watching(runtime_id):
            row = await self.labels.set(ObjectKind.RUNTIME, runtime_id, key, value)
            await self.runtimes.assignments.follow_selectors(
                runtime_id,
                written_by_hand=scenario_names(value) if key == SCENARIOS_KEY else None,
                scenarios_locked=scenarios_locked,
            )
        # The assignments may have added to the value written.
        return await self.labels.labels.get(ObjectKind.RUNTIME, runtime_id, key) or row

    async def delete(self, runtime_id: str, key: str, scenarios_locked: bool = False) -> LabelRow:
        await self.runtimes.get_existing(runtime_id)
        async with self.runtimes.watch.watching(runtime_id):
            row = await self.labels.delete(ObjectKind.RUNTIME, runtime_id, key)
            await self.runtimes.assignments.follow_selectors(
                runtime_id,
                written_by_hand=[] if key == SCENARIOS_KEY else None,
                scenarios_locked=scenarios_locked,
            )
        return row
