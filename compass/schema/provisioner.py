"""The Runtime Provisioner's part of the contract: operations on runtimes,
their status, and the cluster and Kyma configuration they were created with.

Gardener and Kyma inputs are accepted and stored as given; the shipped
providers (`localConfig`, `commandConfig`) need neither, so `clusterConfig`
and `kymaConfig` are optional here."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from compass.schema.scalars import JSON

if TYPE_CHECKING:
    from compass.schema.runtime import RuntimeInput

__all__ = [
    "AWSProviderConfig",
    "AWSProviderConfigInput",
    "AzureProviderConfig",
    "AzureProviderConfigInput",
    "ClusterConfigInput",
    "CommandConfigInput",
    "ComponentConfiguration",
    "ComponentConfigurationInput",
    "ConfigEntry",
    "ConfigEntryInput",
    "Error",
    "GCPProviderConfig",
    "GCPProviderConfigInput",
    "GardenerConfig",
    "GardenerConfigInput",
    "KymaConfig",
    "KymaConfigInput",
    "LocalConfigInput",
    "OperationState",
    "OperationStatus",
    "OperationType",
    "ProviderSpecificConfig",
    "ProviderSpecificInput",
    "ProvisionRuntimeInput",
    "RuntimeAgentConnectionStatus",
    "RuntimeConfig",
    "RuntimeConnectionStatus",
    "UpgradeRuntimeInput",
]


@strawberry.enum
class OperationType(enum.Enum):
    Provision = "Provision"
    Upgrade = "Upgrade"
    Deprovision = "Deprovision"
    ReconnectRuntime = "ReconnectRuntime"


@strawberry.enum
class OperationState(enum.Enum):
    Pending = "Pending"
    InProgress = "InProgress"
    Succeeded = "Succeeded"
    Failed = "Failed"


@strawberry.enum
class RuntimeAgentConnectionStatus(enum.Enum):
    Pending = "Pending"
    Connected = "Connected"
    Disconnected = "Disconnected"


@strawberry.type(description="An asynchronous operation on a runtime and where it stands.")
class OperationStatus:
    id: str | None
    operation: OperationType
    state: OperationState
    message: str | None = strawberry.field(
        description="What the operation is doing, or why it failed."
    )
    runtime_id: str | None = strawberry.field(name="runtimeID")


@strawberry.type
class Error:
    message: str | None


@strawberry.type(description="Whether the runtime's agent calls in.")
class RuntimeConnectionStatus:
    status: RuntimeAgentConnectionStatus
    errors: list[Error] | None


@strawberry.type
class ConfigEntry:
    key: str
    value: str
    secret: bool | None


@strawberry.type
class ComponentConfiguration:
    component: str
    namespace: str
    configuration: list[ConfigEntry | None] | None
    source_url: str | None = strawberry.field(name="sourceURL")


@strawberry.type
class KymaConfig:
    version: str | None
    components: list[ComponentConfiguration | None] | None
    configuration: list[ConfigEntry | None] | None


@strawberry.type
class GCPProviderConfig:
    zones: list[str]


@strawberry.type
class AzureProviderConfig:
    vnet_cidr: str | None
    zones: list[str] | None


@strawberry.type(name="AWSProviderConfig")
class AWSProviderConfig:
    zone: str | None
    vpc_cidr: str | None
    public_cidr: str | None
    internal_cidr: str | None


ProviderSpecificConfig = Annotated[
    GCPProviderConfig | AzureProviderConfig | AWSProviderConfig,
    strawberry.union("ProviderSpecificConfig"),
]


@strawberry.type(description="A Gardener cluster configuration, as it was given.")
class GardenerConfig:
    name: str | None = None
    kubernetes_version: str | None = None
    volume_size_gb: int | None = strawberry.field(name="volumeSizeGB", default=None)
    machine_type: str | None = None
    region: str | None = None
    provider: str | None = None
    purpose: str | None = None
    licence_type: str | None = None
    seed: str | None = None
    target_secret: str | None = None
    disk_type: str | None = None
    worker_cidr: str | None = None
    auto_scaler_min: int | None = None
    auto_scaler_max: int | None = None
    max_surge: int | None = None
    max_unavailable: int | None = None
    provider_specific_config: ProviderSpecificConfig | None = None


@strawberry.type(description="What the runtime was created with.")
class RuntimeConfig:
    cluster_config: GardenerConfig | None
    kyma_config: KymaConfig | None
    kubeconfig: str | None


@strawberry.input
class ConfigEntryInput:
    key: str
    value: str
    secret: bool | None = None


@strawberry.input
class ComponentConfigurationInput:
    component: str
    namespace: str
    configuration: list[ConfigEntryInput | None] | None = None
    source_url: str | None = strawberry.field(name="sourceURL", default=None)


@strawberry.input
class KymaConfigInput:
    version: str
    components: list[ComponentConfigurationInput | None]
    configuration: list[ConfigEntryInput | None] | None = None


@strawberry.input
class GCPProviderConfigInput:
    zones: list[str]


@strawberry.input
class AzureProviderConfigInput:
    vnet_cidr: str
    zones: list[str] | None = None


@strawberry.input(name="AWSProviderConfigInput")
class AWSProviderConfigInput:
    zone: str
    vpc_cidr: str
    public_cidr: str
    internal_cidr: str


@strawberry.input
class ProviderSpecificInput:
    gcp_config: GCPProviderConfigInput | None = None
    azure_config: AzureProviderConfigInput | None = None
    aws_config: AWSProviderConfigInput | None = None


@strawberry.input
class GardenerConfigInput:
    kubernetes_version: str
    volume_size_gb: int = strawberry.field(name="volumeSizeGB")
    machine_type: str
    region: str
    provider: str
    target_secret: str
    disk_type: str
    worker_cidr: str
    auto_scaler_min: int
    auto_scaler_max: int
    max_surge: int
    max_unavailable: int
    provider_specific_config: ProviderSpecificInput
    purpose: str | None = None
    licence_type: str | None = None
    seed: str | None = None


@strawberry.input(description="A runtime whose agent runs as a process supervised by the server.")
class LocalConfigInput:
    event_service_url: str | None = strawberry.field(
        name="eventServiceURL",
        default=None,
        description="Label runtime_eventServiceUrl the agent sets; default "
        "https://gateway.<runtime name>.local.",
    )
    console_url: str | None = strawberry.field(
        name="consoleURL",
        default=None,
        description="Label runtime_consoleUrl the agent sets; default "
        "https://console.<runtime name>.local.",
    )
    sync_interval_seconds: int | None = strawberry.field(
        default=None, description="Seconds between the agent's configuration pulls."
    )


@strawberry.input(description="A runtime created by the executable in COMPASS_PROVISIONER_COMMAND.")
class CommandConfigInput:
    parameters: JSON | None = strawberry.field(
        default=None, description="JSON handed to the executable as `clusterConfig`."
    )
    event_service_url: str | None = strawberry.field(name="eventServiceURL", default=None)
    console_url: str | None = strawberry.field(name="consoleURL", default=None)


@strawberry.input(description="Where the runtime comes from: at most one of these.")
class ClusterConfigInput:
    gardener_config: GardenerConfigInput | None = None
    local_config: LocalConfigInput | None = None
    command_config: CommandConfigInput | None = None


@strawberry.input
class ProvisionRuntimeInput:
    runtime_input: Annotated[RuntimeInput, strawberry.lazy("compass.schema.runtime")]
    cluster_config: ClusterConfigInput | None = strawberry.field(
        default=None, description="Default: the provider COMPASS_PROVISIONER_DEFAULT_PROVIDER."
    )
    kyma_config: KymaConfigInput | None = None


@strawberry.input
class UpgradeRuntimeInput:
    kyma_config: KymaConfigInput
