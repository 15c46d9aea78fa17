"""Input conversion: GraphQL inputs become validated domain commands.

Shape rules (lengths, name patterns, URLs, JSON text) are checked here; rules
that need the database live in the services.
"""

from __future__ import annotations

from typing import Any

from compass.domain.application.commands import (
    RegisterApplication,
    UpdateApplication,
    WebhookCommand,
)
from compass.domain.runtime.commands import RuntimeCommand
from compass.domain.runtime_context.service import RuntimeContextCommand
from compass.domain.validation import (
    check_label_key,
    check_max_length,
    check_name,
    check_url,
)
from compass.errors import InvalidData
from compass.resolvers.auth_inputs import auth_to_dict
from compass.resolvers.bundle_inputs import bundle_command
from compass.schema.application import (
    ApplicationRegisterInput,
    ApplicationUpdateInput,
    WebhookInput,
)
from compass.schema.runtime import RuntimeContextInput, RuntimeInput

__all__ = [
    "labels_from_input",
    "register_application_command",
    "runtime_command",
    "runtime_context_command",
    "update_application_command",
    "webhook_command",
]


def labels_from_input(labels: Any) -> dict[str, Any]:
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise InvalidData("labels must be an object of label keys to values")
    for key in labels:
        check_label_key(key)
    return dict(labels)


def webhook_command(webhook: WebhookInput) -> WebhookCommand:
    check_url("webhook url", webhook.url)
    return WebhookCommand(type=webhook.type.value, url=webhook.url, auth=auth_to_dict(webhook.auth))


def _check_application_fields(source: Any) -> None:
    check_max_length("providerName", source.provider_name, 256)
    check_max_length("description", source.description, 2000)
    check_url("healthCheckURL", source.health_check_url)


def register_application_command(source: ApplicationRegisterInput) -> RegisterApplication:
    check_name("application name", source.name)
    _check_application_fields(source)
    return RegisterApplication(
        name=source.name,
        provider_name=source.provider_name,
        description=source.description,
        labels=labels_from_input(source.labels),
        webhooks=[webhook_command(w) for w in source.webhooks or []],
        bundles=[bundle_command(b) for b in source.bundles or []],
        health_check_url=source.health_check_url,
        integration_system_id=source.integration_system_id,
        status_condition=source.status_condition.value if source.status_condition else None,
    )


def update_application_command(source: ApplicationUpdateInput) -> UpdateApplication:
    _check_application_fields(source)
    return UpdateApplication(
        provider_name=source.provider_name,
        description=source.description,
        health_check_url=source.health_check_url,
        integration_system_id=source.integration_system_id,
        status_condition=source.status_condition.value if source.status_condition else None,
    )


def runtime_command(source: RuntimeInput) -> RuntimeCommand:
    check_name("runtime name", source.name)
    check_max_length("description", source.description, 2000)
    return RuntimeCommand(
        name=source.name,
        description=source.description,
        labels=None if source.labels is None else labels_from_input(source.labels),
        status_condition=source.status_condition.value if source.status_condition else None,
    )


def runtime_context_command(source: RuntimeContextInput) -> RuntimeContextCommand:
    check_label_key(source.key, limit=512, field="runtime context key")
    return RuntimeContextCommand(
        key=source.key,
        value=source.value,
        labels=None if source.labels is None else labels_from_input(source.labels),
    )
