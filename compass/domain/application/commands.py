"""Plain commands for the application service, built from validated input."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compass.domain.bundle.commands import BundleCommand

__all__ = ["WebhookCommand", "RegisterApplication", "UpdateApplication"]


@dataclass(frozen=True)
class WebhookCommand:
    type: str
    url: str
    auth: dict[str, Any] | None = None


@dataclass(frozen=True)
class RegisterApplication:
    name: str
    provider_name: str | None = None
    description: str | None = None
    labels: dict[str, Any] = field(default_factory=dict)
    webhooks: list[WebhookCommand] = field(default_factory=list)
    bundles: list[BundleCommand] = field(default_factory=list)
    health_check_url: str | None = None
    integration_system_id: str | None = None
    status_condition: str | None = None


@dataclass(frozen=True)
class UpdateApplication:
    provider_name: str | None = None
    description: str | None = None
    health_check_url: str | None = None
    integration_system_id: str | None = None
    status_condition: str | None = None
