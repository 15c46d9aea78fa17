"""The Runtime Provisioner's operations: thin, as every resolver."""

from __future__ import annotations

import strawberry

from compass.provisioner.service import RuntimeStatusView
from compass.resolvers.context import Context
from compass.resolvers.convert import runtime_to_type
from compass.resolvers.provisioner_convert import (
    kyma_config_to_json,
    operation_to_type,
    provision_command,
)
from compass.resolvers.provisioner_loaders import provisioner_service
from compass.schema import provisioner as types
from compass.schema.runtime import RuntimeStatus

__all__ = ["ProvisionerMutation", "ProvisionerQuery"]

Info = strawberry.Info[Context, None]


def _status(info: Info, view: RuntimeStatusView) -> RuntimeStatus:
    info.context.loaders.prime_provisioner_status(view)
    return runtime_to_type(view.runtime).status


@strawberry.type
class ProvisionerQuery:
    @strawberry.field(
        description="The runtime's last operation, agent connection and configuration."
    )
    async def runtime_status(self, info: Info, id: str) -> RuntimeStatus | None:
        view = await info.context.run(
            provisioner_service(info.context), lambda service: service.status(id)
        )
        return None if view is None else _status(info, view)

    @strawberry.field(description="One operation, by the ID its mutation returned.")
    async def runtime_operation_status(self, info: Info, id: str) -> types.OperationStatus | None:
        row = await info.context.run(
            provisioner_service(info.context), lambda service: service.operation(id)
        )
        return None if row is None else operation_to_type(row)


@strawberry.type
class ProvisionerMutation:
    @strawberry.mutation(
        description="Registers the runtime (PROVISIONING) and starts creating it; the "
        "operation runs in the background: follow it with runtimeOperationStatus."
    )
    async def provision_runtime(
        self, info: Info, config: types.ProvisionRuntimeInput
    ) -> types.OperationStatus | None:
        command = provision_command(config, info.context.state.settings)
        row = await info.context.run(
            provisioner_service(info.context), lambda service: service.provision(command)
        )
        return operation_to_type(row)

    @strawberry.mutation(description="Stores a new Kyma configuration for the runtime.")
    async def upgrade_runtime(
        self, info: Info, id: str, config: types.UpgradeRuntimeInput
    ) -> types.OperationStatus | None:
        kyma = kyma_config_to_json(config.kyma_config)
        row = await info.context.run(
            provisioner_service(info.context), lambda service: service.upgrade(id, kyma)
        )
        return operation_to_type(row)

    @strawberry.mutation(
        description="Stops the agent, revokes the runtime's credentials and unregisters "
        "it; returns the operation ID."
    )
    async def deprovision_runtime(self, info: Info, id: str) -> str:
        row = await info.context.run(
            provisioner_service(info.context), lambda service: service.deprovision(id)
        )
        return row.id

    @strawberry.mutation(description="Restores the Kyma configuration the last upgrade replaced.")
    async def roll_back_upgrade_operation(self, info: Info, id: str) -> RuntimeStatus | None:
        view = await info.context.run(
            provisioner_service(info.context), lambda service: service.roll_back_upgrade(id)
        )
        return _status(info, view)

    @strawberry.mutation(
        description="Hands the runtime's agent a new one-time token (after its certificate "
        "was revoked, say); returns the operation ID."
    )
    async def reconnect_runtime_agent(self, info: Info, id: str) -> str:
        row = await info.context.run(
            provisioner_service(info.context), lambda service: service.reconnect(id)
        )
        return row.id
