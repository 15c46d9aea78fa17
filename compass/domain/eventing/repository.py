"""Eventing queries: explicit default runtimes, and the facts needed to pick
one for many applications at once (two statements whatever their number)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from compass.domain.application.model import ApplicationRow
from compass.domain.eventing.model import DefaultEventingRow
from compass.domain.label.model import LabelRow
from compass.domain.label.repository import ObjectKind
from compass.domain.label.scenarios import SCENARIOS_KEY
from compass.domain.runtime.model import RuntimeRow

__all__ = ["ApplicationFacts", "EventingRepository", "RuntimeFacts", "EVENT_URL_KEY"]

EVENT_URL_KEY = "runtime_eventServiceUrl"


@dataclass(frozen=True)
class ApplicationFacts:
    id: str
    name: str
    scenarios: Any
    default_runtime_id: str | None


@dataclass(frozen=True)
class RuntimeFacts:
    id: str
    created_at: datetime
    event_url: Any
    scenarios: Any


class EventingRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def get_default(self, application_id: str) -> DefaultEventingRow | None:
        return await self.session.scalar(
            sa.select(DefaultEventingRow).where(
                DefaultEventingRow.tenant_id == self.tenant_id,
                DefaultEventingRow.app_id == application_id,
            )
        )

    async def set_default(self, application_id: str, runtime_id: str) -> DefaultEventingRow:
        row = await self.get_default(application_id)
        if row is None:
            row = DefaultEventingRow(
                app_id=application_id, tenant_id=self.tenant_id, runtime_id=runtime_id
            )
            self.session.add(row)
        else:
            row.runtime_id = runtime_id
        await self.session.flush()
        return row

    async def delete_default(self, row: DefaultEventingRow) -> None:
        await self.session.delete(row)
        await self.session.flush()

    def _label(self, kind: ObjectKind, owner_id: Any, key: str) -> tuple[Any, Any]:
        """An alias of the labels table and the join condition for `key` of the owner."""
        label = aliased(LabelRow)
        condition = sa.and_(
            label.tenant_id == self.tenant_id,
            getattr(label, kind.value) == owner_id,
            label.key == key,
        )
        return label, condition

    async def applications(self, application_ids: Sequence[str]) -> list[ApplicationFacts]:
        if not application_ids:
            return []
        scenarios, on_scenarios = self._label(
            ObjectKind.APPLICATION, ApplicationRow.id, SCENARIOS_KEY
        )
        statement = (
            sa.select(
                ApplicationRow.id,
                ApplicationRow.name,
                scenarios.value,
                DefaultEventingRow.runtime_id,
            )
            .outerjoin(scenarios, on_scenarios)
            .outerjoin(DefaultEventingRow, DefaultEventingRow.app_id == ApplicationRow.id)
            .where(
                ApplicationRow.tenant_id == self.tenant_id,
                ApplicationRow.id.in_(list(application_ids)),
            )
        )
        return [ApplicationFacts(*row) for row in await self.session.execute(statement)]

    async def runtimes(self, also: Collection[str] = ()) -> list[RuntimeFacts]:
        """Runtimes with an event URL label, plus those in `also`, oldest first."""
        url, on_url = self._label(ObjectKind.RUNTIME, RuntimeRow.id, EVENT_URL_KEY)
        scenarios, on_scenarios = self._label(ObjectKind.RUNTIME, RuntimeRow.id, SCENARIOS_KEY)
        wanted = url.id.is_not(None)
        if also:
            wanted = sa.or_(wanted, RuntimeRow.id.in_(list(also)))
        statement = (
            sa.select(RuntimeRow.id, RuntimeRow.created_at, url.value, scenarios.value)
            .outerjoin(url, on_url)
            .outerjoin(scenarios, on_scenarios)
            .where(RuntimeRow.tenant_id == self.tenant_id, wanted)
            .order_by(RuntimeRow.created_at, RuntimeRow.id)
        )
        return [RuntimeFacts(*row) for row in await self.session.execute(statement)]
