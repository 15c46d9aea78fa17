"""Finds what a change means to applications, by comparing before and after.

A service wraps a change of a runtime (or of an application's scenarios) in
`watching(...)`: the snapshot taken before and the one taken after, in the
same transaction, tell which applications a runtime joined or left, whether
it became CONNECTED, changed its event URL or was unregistered. Each finding
is a configuration event for the application concerned.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from compass.domain.application.model import ApplicationRow
from compass.domain.label.repository import LabelRepository, ObjectKind
from compass.domain.label.scenarios import SCENARIOS_KEY, scenario_names
from compass.domain.repository import CONNECTED
from compass.domain.runtime.model import RuntimeRow
from compass.notifications.events import EventType, notify_application

__all__ = ["ABSENT", "ApplicationWatch", "EVENT_URL_LABEL", "RuntimeSnapshot", "RuntimeWatch"]

EVENT_URL_LABEL = "runtime_eventServiceUrl"


@dataclass(frozen=True)
class RuntimeSnapshot:
    name: str | None  # None: the runtime does not exist
    status: str | None
    event_url: Any
    applications: frozenset[str]


ABSENT = RuntimeSnapshot(None, None, None, frozenset())


class _Sharing:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.labels = LabelRepository(session, tenant_id)

    async def scenarios(self, kind: ObjectKind, object_id: str) -> list[str]:
        row = await self.labels.get(kind, object_id, SCENARIOS_KEY)
        return scenario_names(row.value) if row is not None else []

    async def sharing(self, table: Any, kind: ObjectKind, scenarios: Sequence[str]) -> set[str]:
        """IDs of the objects of `table` in any of `scenarios`."""
        if not scenarios:
            return set()
        ids = await self.session.scalars(
            sa.select(table.id).where(
                table.tenant_id == self.tenant_id,
                self.labels.contains_any(kind, table.id, SCENARIOS_KEY, list(scenarios)),
            )
        )
        return set(ids)


class RuntimeWatch(_Sharing):
    async def snapshot(self, runtime_id: str) -> RuntimeSnapshot:
        runtime = await self.session.get(RuntimeRow, runtime_id)
        if runtime is None or runtime.tenant_id != self.tenant_id:
            return ABSENT
        url = await self.labels.get(ObjectKind.RUNTIME, runtime_id, EVENT_URL_LABEL)
        scenarios = await self.scenarios(ObjectKind.RUNTIME, runtime_id)
        applications = await self.sharing(ApplicationRow, ObjectKind.APPLICATION, scenarios)
        return RuntimeSnapshot(
            runtime.name,
            runtime.status_condition,
            None if url is None else url.value,
            frozenset(applications),
        )

    @asynccontextmanager
    async def watching(self, runtime_id: str) -> AsyncIterator[None]:
        before = await self.snapshot(runtime_id)
        yield
        await self.session.flush()
        await self.report(runtime_id, before, await self.snapshot(runtime_id))

    async def connected(self, runtime_id: str, name: str) -> None:
        """The runtime turned CONNECTED on its first call (nothing else changed)."""
        snapshot = await self.snapshot(runtime_id)
        for application_id in sorted(snapshot.applications):
            await self._notify(application_id, EventType.RUNTIME_CONNECTED, runtime_id, name)

    async def report(
        self, runtime_id: str, before: RuntimeSnapshot, after: RuntimeSnapshot
    ) -> None:
        name = after.name or before.name or runtime_id
        for application_id in sorted(after.applications - before.applications):
            await self._notify(application_id, EventType.RUNTIME_JOINED_SCENARIO, runtime_id, name)
        gone = (
            EventType.RUNTIME_UNREGISTERED
            if after.name is None
            else (EventType.RUNTIME_LEFT_SCENARIO)
        )
        for application_id in sorted(before.applications - after.applications):
            await self._notify(application_id, gone, runtime_id, name)
        for application_id in sorted(before.applications & after.applications):
            if after.status == CONNECTED != before.status:
                await self._notify(application_id, EventType.RUNTIME_CONNECTED, runtime_id, name)
            if after.event_url != before.event_url:
                await self._notify(
                    application_id, EventType.RUNTIME_EVENT_URL_CHANGED, runtime_id, name
                )

    async def _notify(
        self, application_id: str, event_type: EventType, runtime_id: str, name: str
    ) -> None:
        await notify_application(
            self.session,
            self.tenant_id,
            application_id,
            event_type,
            {"runtime": {"id": runtime_id, "name": name}},
        )


class ApplicationWatch(_Sharing):
    """An application's own scenarios changed: runtimes joined or left it."""

    async def runtimes_of(self, application_id: str) -> dict[str, str]:
        """ID -> name of the runtimes that share a scenario with the application."""
        scenarios = await self.scenarios(ObjectKind.APPLICATION, application_id)
        ids = await self.sharing(RuntimeRow, ObjectKind.RUNTIME, scenarios)
        if not ids:
            return {}
        rows = await self.session.execute(
            sa.select(RuntimeRow.id, RuntimeRow.name).where(RuntimeRow.id.in_(ids))
        )
        return {runtime_id: name for runtime_id, name in rows}

    @asynccontextmanager
    async def watching(self, application_id: str) -> AsyncIterator[None]:
        before = await self.runtimes_of(application_id)
        yield
        await self.session.flush()
        after = await self.runtimes_of(application_id)
        for event_type, runtimes in (
            (EventType.RUNTIME_JOINED_SCENARIO, {k: after[k] for k in after.keys() - before}),
            (EventType.RUNTIME_LEFT_SCENARIO, {k: before[k] for k in before.keys() - after}),
        ):
            for runtime_id, name in sorted(runtimes.items()):
                await notify_application(
                    self.session,
                    self.tenant_id,
                    application_id,
                    event_type,
                    {"runtime": {"id": runtime_id, "name": name}},
                )
