"""Runtime contexts: sub-scopes of a runtime (a namespace, say) with their own labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from compass.domain.label.filter import LabelCondition
from compass.domain.label.repository import ObjectKind
from compass.domain.label.service import LabelService
from compass.domain.pagination import Page, PageRequest
from compass.domain.runtime.repository import RuntimeRepository
from compass.domain.runtime_context.model import RuntimeContextRow
from compass.domain.runtime_context.repository import RuntimeContextRepository
from compass.errors import NotFound

__all__ = ["RuntimeContextCommand", "RuntimeContextService"]


@dataclass(frozen=True)
class RuntimeContextCommand:
    key: str
    value: str
    labels: dict[str, Any] | None = None


class RuntimeContextService:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.contexts = RuntimeContextRepository(session, tenant_id)
        self.runtimes = RuntimeRepository(session, tenant_id)
        self.labels = LabelService(session, tenant_id)
        self.tenant_id = tenant_id

    async def register(self, runtime_id: str, command: RuntimeContextCommand) -> RuntimeContextRow:
        if await self.runtimes.get(runtime_id) is None:
            raise NotFound.of("runtime", runtime_id)
        row = await self.contexts.add(
            RuntimeContextRow(
                tenant_id=self.tenant_id,
                runtime_id=runtime_id,
                key=command.key,
                value=command.value,
            )
        )
        await self.labels.set_many(ObjectKind.RUNTIME_CONTEXT, row.id, command.labels or {})
        return row

    async def update(
        self, context_id: str, command: RuntimeContextCommand, runtime_id: str | None = None
    ) -> RuntimeContextRow:
        row = await self.get_existing(context_id, runtime_id)
        row.key = command.key
        row.value = command.value
        await self.contexts.save(row)
        if command.labels is not None:
            await self.labels.replace(ObjectKind.RUNTIME_CONTEXT, row.id, command.labels, keep=())
        return row

    async def unregister(self, context_id: str, runtime_id: str | None = None) -> RuntimeContextRow:
        row = await self.get_existing(context_id, runtime_id)
        await self.contexts.delete(row)
        return row

    async def get(self, context_id: str, runtime_id: str | None = None) -> RuntimeContextRow | None:
        row = await self.contexts.get(context_id)
        if row is not None and runtime_id is not None and row.runtime_id != runtime_id:
            return None
        return row

    async def get_existing(
        self, context_id: str, runtime_id: str | None = None
    ) -> RuntimeContextRow:
        row = await self.get(context_id, runtime_id)
        if row is None:
            raise NotFound.of("runtime context", context_id)
        return row

    async def list(
        self,
        conditions: Sequence[LabelCondition],
        request: PageRequest,
        runtime_id: str | None = None,
    ) -> Page[RuntimeContextRow]:
        return await self.contexts.page(conditions, request, runtime_id)
