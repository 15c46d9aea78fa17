"""Provisioner operations as users start them: each mutation writes the
operation row (and what it changes) in its own transaction and leaves the
slow part, providers and agents, to the step runner via the outbox."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from compass.db import utcnow
from compass.domain.runtime.model import RuntimeRow
from compass.domain.runtime.repository import RuntimeRepository
from compass.domain.runtime.service import RuntimeService
from compass.errors import InvalidOperation, NotFound
from compass.notifications.outbox import enqueue
from compass.provisioner.commands import OperationState, OperationType, ProvisionCommand
from compass.provisioner.model import OperationRow, ProvisionedRuntimeRow
from compass.provisioner.repository import OperationRepository, ProvisionedRuntimeRepository

__all__ = [
    "ConnectionStatus",
    "PROVISIONING",
    "ProvisionerService",
    "RuntimeStatusView",
    "STEP_KIND",
]

STEP_KIND = "provisioner.step"
PROVISIONING = "PROVISIONING"
FIRST_STEP = "start"


@dataclass(frozen=True)
class ConnectionStatus:
    status: str  # Pending, Connected, Disconnected
    errors: list[str]


@dataclass(frozen=True)
class RuntimeStatusView:
    runtime: RuntimeRow
    last_operation: OperationRow | None
    connection: ConnectionStatus
    provisioned: ProvisionedRuntimeRow | None


def connection_status(
    runtime: RuntimeRow, disconnected_after: timedelta, now: datetime
) -> ConnectionStatus:
    """Pending until the agent's first call; Disconnected when it went quiet."""
    if runtime.last_seen_at is None:
        return ConnectionStatus("Pending", [])
    quiet = now - runtime.last_seen_at
    if quiet > disconnected_after:
        seconds = int(quiet.total_seconds())
        return ConnectionStatus("Disconnected", [f"the runtime agent made no call for {seconds} s"])
    return ConnectionStatus("Connected", [])


class ProvisionerService:
    def __init__(
        self,
        session: AsyncSession,
        tenant_id: str,
        *,
        disconnected_after: timedelta = timedelta(seconds=60),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.operations = OperationRepository(session, tenant_id)
        self.provisioned = ProvisionedRuntimeRepository(session, tenant_id)
        self.runtimes = RuntimeRepository(session, tenant_id)
        self.disconnected_after = disconnected_after
        self.clock = clock

    async def provision(self, command: ProvisionCommand) -> OperationRow:
        """Registers the runtime (PROVISIONING) with its operation in one
        transaction, so no runtime exists without an operation telling its fate."""
        registration = dataclasses.replace(command.runtime, status_condition=PROVISIONING)
        runtime = await RuntimeService(self.session, self.tenant_id).register(registration)
        await self.provisioned.add(
            ProvisionedRuntimeRow(
                runtime_id=runtime.id,
                tenant_id=self.tenant_id,
                provider=command.provider.value,
                cluster_config=command.cluster_config,
                kyma_config=command.kyma_config,
                agent_config=command.agent_config,
            )
        )
        return await self._start(runtime.id, OperationType.PROVISION)

    async def upgrade(self, runtime_id: str, kyma_config: dict[str, Any]) -> OperationRow:
        """Kyma is not installed by the shipped providers: the new configuration
        is stored (the previous one kept for a roll-back) and the operation ends."""
        row = await self._provisioned(runtime_id)
        await self._refuse_if_busy(runtime_id)
        row.previous_kyma_config, row.kyma_config = row.kyma_config, kyma_config
        await self.provisioned.save(row)
        now = self.clock()
        return await self.operations.add(
            OperationRow(
                tenant_id=self.tenant_id,
                runtime_id=runtime_id,
                type=OperationType.UPGRADE.value,
                state=OperationState.SUCCEEDED.value,
                step="done",
                message="the Kyma configuration was stored",
                created_at=now,
                updated_at=now,
            )
        )

    async def roll_back_upgrade(self, runtime_id: str) -> RuntimeStatusView:
        row = await self._provisioned(runtime_id)
        await self._refuse_if_busy(runtime_id)
        if row.previous_kyma_config is None:
            raise InvalidOperation(f"runtime {runtime_id} has no upgrade to roll back")
        row.kyma_config, row.previous_kyma_config = row.previous_kyma_config, None
        await self.provisioned.save(row)
        status = await self.status(runtime_id)
        assert status is not None
        return status

    async def deprovision(self, runtime_id: str) -> OperationRow:
        await self._provisioned(runtime_id)
        return await self._start(runtime_id, OperationType.DEPROVISION)

    async def reconnect(self, runtime_id: str) -> OperationRow:
        await self._provisioned(runtime_id)
        return await self._start(runtime_id, OperationType.RECONNECT_RUNTIME)

    async def operation(self, operation_id: str) -> OperationRow | None:
        return await self.operations.get(operation_id)

    async def status(self, runtime_id: str) -> RuntimeStatusView | None:
        views = await self.statuses([runtime_id])
        return views.get(runtime_id)

    async def statuses(self, runtime_ids: Sequence[str]) -> dict[str, RuntimeStatusView]:
        runtimes = await self.runtimes.by_ids(runtime_ids)
        last = await self.operations.last_for(list(runtimes))
        provisioned = await self.provisioned.by_ids(list(runtimes))
        now = self.clock()
        return {
            runtime_id: RuntimeStatusView(
                runtime=runtime,
                last_operation=last.get(runtime_id),
                connection=connection_status(runtime, self.disconnected_after, now),
                provisioned=provisioned.get(runtime_id),
            )
            for runtime_id, runtime in runtimes.items()
        }

    async def _provisioned(self, runtime_id: str) -> ProvisionedRuntimeRow:
        row = await self.provisioned.get(runtime_id)
        if row is None:
            if await self.runtimes.get(runtime_id) is not None:
                raise InvalidOperation(f"runtime {runtime_id} was not created by the provisioner")
            raise NotFound.of("runtime", runtime_id)
        return row

    async def _refuse_if_busy(self, runtime_id: str) -> None:
        active = await self.operations.active_for(runtime_id)
        if active is not None:
            raise InvalidOperation(
                f"runtime {runtime_id} already has an operation in progress: "
                f"{active.type} {active.id}"
            )

    async def _start(self, runtime_id: str, kind: OperationType) -> OperationRow:
        await self._refuse_if_busy(runtime_id)
        now = self.clock()
        row = await self.operations.add(
            OperationRow(
                tenant_id=self.tenant_id,
                runtime_id=runtime_id,
                type=kind.value,
                state=OperationState.PENDING.value,
                step=FIRST_STEP,
                message="waiting to start",
                created_at=now,
                updated_at=now,
            )
        )
        payload = {"tenant_id": self.tenant_id, "operation_id": row.id}
        await enqueue(self.session, STEP_KIND, payload)
        return row
