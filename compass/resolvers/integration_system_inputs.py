"""Input conversion for integration systems."""

from __future__ import annotations

from compass.domain.integration_system.commands import IntegrationSystemCommand
from compass.domain.validation import check_max_length, check_name
from compass.schema.integration_system import IntegrationSystemInput

__all__ = ["integration_system_command"]


def integration_system_command(source: IntegrationSystemInput) -> IntegrationSystemCommand:
    check_name("integration system name", source.name)
    check_max_length("description", source.description, 2000)
    return IntegrationSystemCommand(name=source.name, description=source.description)
