"""Providers create the infrastructure of a runtime and bring its agent up.

A provider is small on purpose (provision, deprovision, reconnect, is-alive):
the operation's state machine, tokens and the Director stay in the
provisioner, so a new provider is a few dozen lines. Every call may be made
again for the same runtime after a crash, so providers must be idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Provider", "ProviderError", "RuntimeSpec"]


@dataclass(frozen=True)
class RuntimeSpec:
    """What a provider knows of the runtime it works on."""

    runtime_id: str
    tenant_id: str
    name: str
    connector_url: str
    cluster_config: dict[str, Any] | None
    kyma_config: dict[str, Any] | None
    agent_config: dict[str, Any]


class ProviderError(Exception):
    """The provider could not do it; the message is shown on the operation."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Provider(Protocol):
    name: str

    async def provision(self, spec: RuntimeSpec, token: str) -> None:
        """Creates the runtime and hands its agent the one-time token."""

    async def deprovision(self, spec: RuntimeSpec) -> None:
        """Stops the agent and removes what `provision` created."""

    async def reconnect(self, spec: RuntimeSpec, token: str) -> None:
        """Hands the agent a new one-time token."""

    async def is_alive(self, spec: RuntimeSpec) -> bool:
        """Whether the runtime's agent (or the runtime) is running."""
