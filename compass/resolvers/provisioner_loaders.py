"""Dataloaders for the provisioner's fields of `RuntimeStatus`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property, partial
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from compass.provisioner.service import ProvisionerService, RuntimeStatusView
from compass.resolvers.provisioner_convert import (
    connection_status_to_type,
    operation_to_type,
    runtime_config_type,
)
from compass.schema import provisioner as types

if TYPE_CHECKING:
    from compass.resolvers.context import Context

__all__ = ["ProvisionerLoaders", "provisioner_service"]


def provisioner_service(context: Context) -> partial[ProvisionerService]:
    """The service bound to the settings it needs; `Context.run` adds session and tenant."""
    settings = context.state.settings
    return partial(_service, timedelta(seconds=settings.agent_disconnected_after_seconds))


def _service(
    disconnected_after: timedelta, session: AsyncSession, tenant_id: str
) -> ProvisionerService:
    return ProvisionerService(session, tenant_id, disconnected_after=disconnected_after)


class ProvisionerLoaders:
    def __init__(self, context: Context) -> None:
        self._context = context

    @cached_property
    def _provisioner_status(self) -> DataLoader[str, RuntimeStatusView | None]:
        return DataLoader(self._load_provisioner_status)

    async def _load_provisioner_status(self, ids: Sequence[str]) -> list[RuntimeStatusView | None]:
        found = await self._context.run(
            provisioner_service(self._context), lambda service: service.statuses(ids)
        )
        return [found.get(i) for i in ids]

    def prime_provisioner_status(self, view: RuntimeStatusView) -> None:
        self._provisioner_status.prime(view.runtime.id, view)

    async def last_operation_status(self, runtime_id: str) -> types.OperationStatus | None:
        view = await self._provisioner_status.load(runtime_id)
        if view is None or view.last_operation is None:
            return None
        return operation_to_type(view.last_operation)

    async def runtime_connection_status(
        self, runtime_id: str
    ) -> types.RuntimeConnectionStatus | None:
        view = await self._provisioner_status.load(runtime_id)
        return None if view is None else connection_status_to_type(view)

    async def runtime_configuration(self, runtime_id: str) -> types.RuntimeConfig | None:
        view = await self._provisioner_status.load(runtime_id)
        if view is None or view.provisioned is None:
            return None
        return runtime_config_type(view.provisioned.cluster_config, view.provisioned.kyma_config)
