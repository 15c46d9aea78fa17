"""Provisioner inputs become commands; stored configurations become types again.

Cluster and Kyma configurations are kept as JSON with the GraphQL field
names, exactly as given, so `runtimeConfiguration` answers what was sent and
the command provider receives the same names users wrote."""

from __future__ import annotations

import dataclasses
from typing import Any

from strawberry.types.base import has_object_definition
from strawberry.utils.str_converters import to_camel_case

from compass.config import Settings
from compass.domain.validation import check_url
from compass.errors import InvalidData
from compass.provisioner.commands import ProviderName, ProvisionCommand
from compass.provisioner.model import OperationRow
from compass.provisioner.service import RuntimeStatusView
from compass.resolvers.inputs import runtime_command
from compass.schema import provisioner as types
from compass.schema.scalars import parse_json_text

__all__ = [
    "connection_status_to_type",
    "kyma_config_to_json",
    "operation_to_type",
    "provision_command",
    "runtime_config_type",
]

MAX_SYNC_INTERVAL = 86_400


def _graphql_names(cls: type) -> dict[str, str]:
    """Python field name -> GraphQL field name of a strawberry type or input."""
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    return {
        field.python_name: field.graphql_name or to_camel_case(field.python_name)
        for field in definition.fields
    }


def input_to_json(value: Any) -> Any:
    """A strawberry input as JSON with GraphQL names, leaving out what was not given."""
    if isinstance(value, list):
        return [input_to_json(item) for item in value]
    if has_object_definition(value):
        names = _graphql_names(type(value))
        return {
            names[field.name]: input_to_json(getattr(value, field.name))
            for field in dataclasses.fields(value)
            if getattr(value, field.name) is not None
        }
    return value


def _from_json(cls: type, data: dict[str, Any], nested: dict[str, Any]) -> Any:
    """A strawberry type from JSON with GraphQL names; `nested` converts some fields."""
    names = {graphql: python for python, graphql in _graphql_names(cls).items()}
    values = {}
    for graphql_name, python_name in names.items():
        raw = data.get(graphql_name)
        values[python_name] = nested[graphql_name](raw) if graphql_name in nested else raw
    return cls(**values)


def _entries(raw: Any) -> list[types.ConfigEntry | None] | None:
    if raw is None:
        return None
    return [None if e is None else _from_json(types.ConfigEntry, e, {}) for e in raw]


def _component(raw: Any) -> types.ComponentConfiguration | None:
    if raw is None:
        return None
    return _from_json(types.ComponentConfiguration, raw, {"configuration": _entries})


def _kyma(raw: Any) -> types.KymaConfig | None:
    if raw is None:
        return None
    return _from_json(
        types.KymaConfig,
        raw,
        {
            "components": lambda c: None if c is None else [_component(x) for x in c],
            "configuration": _entries,
        },
    )


def _provider_specific(raw: Any) -> Any:
    if not raw:
        return None
    for key, cls in (
        ("gcpConfig", types.GCPProviderConfig),
        ("azureConfig", types.AzureProviderConfig),
        ("awsConfig", types.AWSProviderConfig),
    ):
        if raw.get(key) is not None:
            return _from_json(cls, raw[key], {})
    return None


def _gardener(cluster_config: Any) -> types.GardenerConfig | None:
    raw = (cluster_config or {}).get("gardenerConfig")
    if raw is None:
        return None
    return _from_json(types.GardenerConfig, raw, {"providerSpecificConfig": _provider_specific})


def runtime_config_type(cluster_config: Any, kyma_config: Any) -> types.RuntimeConfig:
    return types.RuntimeConfig(
        cluster_config=_gardener(cluster_config), kyma_config=_kyma(kyma_config), kubeconfig=None
    )


def kyma_config_to_json(config: types.KymaConfigInput | None) -> dict[str, Any] | None:
    return None if config is None else input_to_json(config)


def operation_to_type(row: OperationRow) -> types.OperationStatus:
    return types.OperationStatus(
        id=row.id,
        operation=types.OperationType(row.type),
        state=types.OperationState(row.state),
        message=row.message,
        runtime_id=row.runtime_id,
    )


def connection_status_to_type(view: RuntimeStatusView) -> types.RuntimeConnectionStatus:
    return types.RuntimeConnectionStatus(
        status=types.RuntimeAgentConnectionStatus(view.connection.status),
        errors=[types.Error(message=text) for text in view.connection.errors] or None,
    )


def _provider(cluster: types.ClusterConfigInput | None, settings: Settings) -> ProviderName:
    given = [
        name
        for name, value in (
            (ProviderName.GARDENER, cluster and cluster.gardener_config),
            (ProviderName.LOCAL, cluster and cluster.local_config),
            (ProviderName.COMMAND, cluster and cluster.command_config),
        )
        if value
    ]
    if len(given) > 1:
        raise InvalidData(
            "clusterConfig takes one of gardenerConfig, localConfig and commandConfig"
        )
    return given[0] if given else ProviderName(settings.provisioner_default_provider)


def _agent_config(name: str, source: Any, settings: Settings) -> dict[str, Any]:
    """What the runtime's agent is told: the URLs it reports and how often it syncs."""
    events = getattr(source, "event_service_url", None) or f"https://gateway.{name}.local"
    console = getattr(source, "console_url", None) or f"https://console.{name}.local"
    check_url("eventServiceURL", events)
    check_url("consoleURL", console)
    interval = getattr(source, "sync_interval_seconds", None) or settings.agent_sync_interval
    if not 0 < interval <= MAX_SYNC_INTERVAL:
        raise InvalidData(f"syncIntervalSeconds must be between 1 and {MAX_SYNC_INTERVAL}")
    return {"events_url": events, "console_url": console, "sync_interval": interval}


def provision_command(config: types.ProvisionRuntimeInput, settings: Settings) -> ProvisionCommand:
    runtime = runtime_command(config.runtime_input)
    cluster = config.cluster_config
    provider = _provider(cluster, settings)
    cluster_json = input_to_json(cluster) if cluster is not None else None
    command_config = cluster.command_config if cluster is not None else None
    if command_config is not None and command_config.parameters is not None:
        parameters = parse_json_text("commandConfig.parameters", command_config.parameters)
        cluster_json["commandConfig"]["parameters"] = parameters
    source = (cluster.local_config or command_config) if cluster is not None else None
    return ProvisionCommand(
        runtime=runtime,
        provider=provider,
        cluster_config=cluster_json,
        kyma_config=kyma_config_to_json(config.kyma_config),
        agent_config=_agent_config(runtime.name, source, settings),
    )
