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
from compass.errors import InvalidData, InvalidOperation
from compass.schema.application import (
    ApplicationRegisterInput,
    ApplicationUpdateInput,
    WebhookInput,
)
from compass.schema.auth import AuthInput, CredentialDataInput
from compass.schema.runtime import RuntimeContextInput, RuntimeInput

__all__ = [
    "auth_to_dict",
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


def _credential_to_dict(credential: CredentialDataInput | None) -> dict[str, Any] | None:
    if credential is None:
        return None
    if (credential.basic is None) == (credential.oauth is None):
        raise InvalidData("a credential needs exactly one of basic or oauth")
    if credential.basic is not None:
        return {
            "basic": {
                "username": credential.basic.username,
                "password": credential.basic.password,
            }
        }
    oauth = credential.oauth
    assert oauth is not None
    check_url("oauth url", oauth.url)
    return {
        "oauth": {
            "clientId": oauth.client_id,
            "clientSecret": oauth.client_secret,
            "url": oauth.url,
        }
    }


def _extras(source: Any) -> dict[str, Any]:
    return {
        name: value
        for name, value in (
            ("additionalHeaders", source.additional_headers),
            ("additionalHeadersSerialized", source.additional_headers_serialized),
            ("additionalQueryParams", source.additional_query_params),
            ("additionalQueryParamsSerialized", source.additional_query_params_serialized),
        )
        if value is not None
    }


def auth_to_dict(auth: AuthInput | None) -> dict[str, Any] | None:
    if auth is None:
        return None
    result: dict[str, Any] = {"credential": _credential_to_dict(auth.credential), **_extras(auth)}
    csrf = auth.request_auth.csrf if auth.request_auth else None
    if auth.request_auth is not None and csrf is None:
        raise InvalidData("requestAuth needs csrf")
    if csrf is not None:
        check_url("csrf tokenEndpointURL", csrf.token_endpoint_url)
        result["requestAuth"] = {
            "csrf": {
                "tokenEndpointURL": csrf.token_endpoint_url,
                "credential": _credential_to_dict(csrf.credential),
                **_extras(csrf),
            }
        }
    return result


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
    if source.bundles:
        raise InvalidOperation("registering bundles is not supported by this server yet")
    return RegisterApplication(
        name=source.name,
        provider_name=source.provider_name,
        description=source.description,
        labels=labels_from_input(source.labels),
        webhooks=[webhook_command(w) for w in source.webhooks or []],
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
