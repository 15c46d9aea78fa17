"""Inputs of the provisioner, as plain objects the service understands."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from compass.domain.runtime.commands import RuntimeCommand

__all__ = ["OperationState", "OperationType", "ProvisionCommand", "ProviderName"]


class OperationType(enum.Enum):
    PROVISION = "Provision"
    UPGRADE = "Upgrade"
    DEPROVISION = "Deprovision"
    RECONNECT_RUNTIME = "ReconnectRuntime"


class OperationState(enum.Enum):
    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class ProviderName(enum.Enum):
    LOCAL = "local"
    COMMAND = "command"
    GARDENER = "gardener"


@dataclass(frozen=True)
class ProvisionCommand:
    runtime: RuntimeCommand
    provider: ProviderName
    cluster_config: dict[str, Any] | None
    kyma_config: dict[str, Any] | None
    # events_url, console_url, sync_interval: what the runtime's agent is told.
    agent_config: dict[str, Any]
