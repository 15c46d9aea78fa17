"""Runs provisioner operations step by step, as outbox rows after commit.

Each step reads the operation, does its I/O outside any transaction
(providers, agents), then records the outcome and schedules the next step in
one short transaction. A step interrupted by a crash runs again when the
outbox lease of its row ends, so steps are idempotent: a repeated token
request issues a new token, a repeated provider call does its work again.
Provider failures end the operation (Failed, with the reason); database
failures are retried by the outbox.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from compass.db import utcnow
from compass.domain.runtime.repository import RuntimeRepository
from compass.domain.runtime.service import RuntimeService
from compass.domain.system_auth.pairing import PairingService
from compass.domain.system_auth.service import OwnerKind
from compass.notifications.outbox import enqueue
from compass.provisioner.commands import OperationState, OperationType
from compass.provisioner.model import OperationRow
from compass.provisioner.providers import Provider, ProviderError, RuntimeSpec
from compass.provisioner.repository import OperationRepository, ProvisionedRuntimeRepository
from compass.provisioner.service import STEP_KIND

__all__ = ["OperationRunner", "StepSettings"]

_TERMINAL = (OperationState.SUCCEEDED.value, OperationState.FAILED.value)
_WAIT_AGENT = "wait_agent"
_PROVIDER = "provider"
_FAILED = "FAILED"


@dataclass(frozen=True)
class StepSettings:
    connector_url: str
    token_lifetime: timedelta
    agent_wait: timedelta
    check_interval: timedelta = timedelta(seconds=1)


class OperationRunner:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        providers: Mapping[str, Provider],
        settings: StepSettings,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._providers = dict(providers)
        self._settings = settings
        self._clock = clock

    async def __call__(self, payload: dict[str, Any]) -> None:
        operation = await self._load(payload["tenant_id"], payload["operation_id"])
        if operation is None or operation.state in _TERMINAL:
            return
        steps = {
            OperationType.PROVISION.value: self._provision,
            OperationType.DEPROVISION.value: self._deprovision,
            OperationType.RECONNECT_RUNTIME.value: self._reconnect,
        }
        await steps[operation.type](operation)

    async def _provision(self, operation: OperationRow) -> None:
        if operation.step == _WAIT_AGENT:
            await self._check_agent(operation)
            return
        spec, provider = await self._prepare(operation, "provisioning the runtime")
        if provider is None:
            return
        token = await self._token(operation)
        try:
            await provider.provision(spec, token)
        except ProviderError as error:
            await self._fail(operation, f"the {provider.name} provider failed: {error.message}")
            return
        wait = self._settings.agent_wait
        await self._record(
            operation,
            step=_WAIT_AGENT,
            message="waiting for the runtime agent's first call",
            deadline=self._clock() + wait,
            next_step_in=timedelta(0),
        )

    async def _check_agent(self, operation: OperationRow) -> None:
        async with self._sessions() as session:
            runtime = await RuntimeRepository(session, operation.tenant_id).get(
                operation.runtime_id
            )
        if runtime is None:
            await self._fail(operation, "the runtime was unregistered during provisioning")
        elif runtime.last_seen_at is not None:
            await self._record(
                operation,
                state=OperationState.SUCCEEDED,
                step="done",
                message="the runtime is provisioned and its agent connected",
            )
        elif operation.deadline is not None and self._clock() > operation.deadline:
            seconds = int(self._settings.agent_wait.total_seconds())
            await self._fail(
                operation,
                f"the runtime agent made no certificate-authenticated call within {seconds} s",
            )
        else:
            await self._record(operation, next_step_in=self._settings.check_interval)

    async def _deprovision(self, operation: OperationRow) -> None:
        spec, provider = await self._prepare(operation, "stopping the runtime's agent")
        if provider is None:
            return
        try:
            await provider.deprovision(spec)
        except ProviderError as error:
            await self._fail(operation, f"the {provider.name} provider failed: {error.message}")
            return
        async with self._sessions() as session:
            tenant_id, runtime_id = operation.tenant_id, operation.runtime_id
            provisioned = ProvisionedRuntimeRepository(session, tenant_id)
            row = await provisioned.get(runtime_id)
            if row is not None:
                await provisioned.delete(row)
            # Its system auths go with it: every certificate it held is refused from now on.
            if await RuntimeRepository(session, tenant_id).get(runtime_id) is not None:
                await RuntimeService(session, tenant_id).unregister(runtime_id)
            await self._finish(session, operation, "the runtime was deprovisioned")
            await session.commit()

    async def _reconnect(self, operation: OperationRow) -> None:
        spec, provider = await self._prepare(operation, "handing a new token to the agent")
        if provider is None:
            return
        token = await self._token(operation)
        try:
            await provider.reconnect(spec, token)
        except ProviderError as error:
            await self._fail(operation, f"the {provider.name} provider failed: {error.message}")
            return
        await self._record(
            operation,
            state=OperationState.SUCCEEDED,
            step="done",
            message="a new one-time token was handed to the runtime agent",
        )

    async def _prepare(
        self, operation: OperationRow, message: str
    ) -> tuple[RuntimeSpec, Provider | None]:
        """Marks the operation in progress; the provider is None when it failed."""
        spec, provider_name = await self._spec(operation)
        provider = self._providers.get(provider_name)
        await self._record(
            operation, state=OperationState.IN_PROGRESS, step=_PROVIDER, message=message
        )
        if provider is None:
            await self._fail(operation, _missing_provider(provider_name))
        return spec, provider

    async def _spec(self, operation: OperationRow) -> tuple[RuntimeSpec, str]:
        async with self._sessions() as session:
            tenant_id = operation.tenant_id
            row = await ProvisionedRuntimeRepository(session, tenant_id).get(operation.runtime_id)
            runtime = await RuntimeRepository(session, tenant_id).get(operation.runtime_id)
        if row is None:
            raise LookupError(f"runtime {operation.runtime_id} is not provisioned")
        spec = RuntimeSpec(
            runtime_id=operation.runtime_id,
            tenant_id=tenant_id,
            name=runtime.name if runtime is not None else operation.runtime_id,
            connector_url=self._settings.connector_url,
            cluster_config=row.cluster_config,
            kyma_config=row.kyma_config,
            agent_config=row.agent_config or {},
        )
        return spec, row.provider

    async def _token(self, operation: OperationRow) -> str:
        async with self._sessions() as session:
            pairing = PairingService(session, operation.tenant_id)
            _auth, token = await pairing.one_time_token(
                OwnerKind.RUNTIME, operation.runtime_id, self._settings.token_lifetime
            )
            await session.commit()
        return token

    async def _load(self, tenant_id: str, operation_id: str) -> OperationRow | None:
        async with self._sessions() as session:
            return await OperationRepository(session, tenant_id).get(operation_id)

    async def _fail(self, operation: OperationRow, message: str) -> None:
        """The operation fails; a runtime that was being provisioned is marked FAILED."""
        async with self._sessions() as session:
            if operation.type == OperationType.PROVISION.value:
                await RuntimeRepository(session, operation.tenant_id).set_status(
                    operation.runtime_id, _FAILED, self._clock()
                )
            await self._write(
                session, operation, state=OperationState.FAILED, step="done", message=message
            )
            await session.commit()

    async def _finish(self, session: AsyncSession, operation: OperationRow, message: str) -> None:
        await self._write(
            session, operation, state=OperationState.SUCCEEDED, step="done", message=message
        )

    async def _record(
        self, operation: OperationRow, *, next_step_in: timedelta | None = None, **values: Any
    ) -> None:
        """Writes the operation's progress and, when asked, schedules its next step."""
        async with self._sessions() as session:
            await self._write(session, operation, **values)
            if next_step_in is not None:
                payload = {"tenant_id": operation.tenant_id, "operation_id": operation.id}
                await enqueue(session, STEP_KIND, payload, delay=next_step_in)
            await session.commit()

    async def _write(self, session: AsyncSession, operation: OperationRow, **values: Any) -> None:
        state = values.pop("state", None)
        if state is not None:
            values["state"] = state.value
        values["updated_at"] = self._clock()
        await OperationRepository(session, operation.tenant_id).update(operation.id, values)
        for name, value in values.items():
            setattr(operation, name, value)


def _missing_provider(name: str) -> str:
    if name == "gardener":
        return (
            "no Gardener provider is configured: leave clusterConfig out or give "
            "localConfig or commandConfig"
        )
    return f"the {name} provider is not available"
