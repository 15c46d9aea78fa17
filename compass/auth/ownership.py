"""Operations an application or a runtime may run on itself, and the argument
that names the object each one touches. Anything else is refused to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compass.auth.principal import ConsumerType
from compass.domain.label.scenarios import SCENARIOS_KEY, scenario_names
from compass.domain.ownership import ObjectType

__all__ = ["OWN_QUERIES", "SELF_SERVICE_MUTATIONS", "ScenariosWrite", "scenarios_written"]

_APP = ObjectType.APPLICATION
_BUNDLE = ObjectType.BUNDLE
_INSTANCE_AUTH = ObjectType.BUNDLE_INSTANCE_AUTH

# mutation name -> (GraphQL argument name, as the guard receives it, and the
# type of the object it names; an optional argument left out names the caller);
# None: the operation acts on the caller by construction.
# A bundle instance auth belongs to the application of its bundle and to the
# runtime holding it: each acts on it from its own side.
SELF_SERVICE_MUTATIONS: dict[ConsumerType, dict[str, tuple[str, ObjectType] | None]] = {
    ConsumerType.APPLICATION: {
        "updateApplication": ("id", _APP),
        "setApplicationLabel": ("applicationID", _APP),
        "deleteApplicationLabel": ("applicationID", _APP),
        "addWebhook": ("applicationID", _APP),
        "updateWebhook": ("webhookID", ObjectType.WEBHOOK),
        "deleteWebhook": ("webhookID", ObjectType.WEBHOOK),
        "addBundle": ("applicationID", _APP),
        "updateBundle": ("id", _BUNDLE),
        "deleteBundle": ("id", _BUNDLE),
        "addAPIDefinitionToBundle": ("bundleID", _BUNDLE),
        "updateAPIDefinition": ("id", ObjectType.API_DEFINITION),
        "deleteAPIDefinition": ("id", ObjectType.API_DEFINITION),
        "refetchAPISpec": ("apiID", ObjectType.API_DEFINITION),
        "addEventDefinitionToBundle": ("bundleID", _BUNDLE),
        "updateEventDefinition": ("id", ObjectType.EVENT_DEFINITION),
        "deleteEventDefinition": ("id", ObjectType.EVENT_DEFINITION),
        "refetchEventDefinitionSpec": ("eventID", ObjectType.EVENT_DEFINITION),
        "addDocumentToBundle": ("bundleID", _BUNDLE),
        "deleteDocument": ("id", ObjectType.DOCUMENT),
        "setBundleInstanceAuth": ("authID", _INSTANCE_AUTH),
        "deleteBundleInstanceAuth": ("authID", _INSTANCE_AUTH),
    },
    ConsumerType.RUNTIME: {
        "updateRuntime": ("id", ObjectType.RUNTIME),
        "setRuntimeLabel": ("runtimeID", ObjectType.RUNTIME),
        "deleteRuntimeLabel": ("runtimeID", ObjectType.RUNTIME),
        "registerRuntimeContext": ("runtimeID", ObjectType.RUNTIME),
        "updateRuntimeContext": None,
        "unregisterRuntimeContext": None,
        # Which bundles it may ask for (those of its scenarios) the service decides.
        "requestBundleInstanceAuthCreation": ("runtimeID", ObjectType.RUNTIME),
        "requestBundleInstanceAuthDeletion": ("authID", _INSTANCE_AUTH),
    },
}

# Queries they may run; the services narrow the results to what the caller may see.
OWN_QUERIES: dict[ConsumerType, frozenset[str]] = {
    ConsumerType.APPLICATION: frozenset(
        {"viewer", "application", "applications", "applicationConfigurationChanged"}
    ),
    ConsumerType.RUNTIME: frozenset(
        {
            "viewer",
            "runtime",
            "runtimes",
            "application",
            "applications",
            "applicationsForRuntime",
            "runtimeConfigurationChanged",
            "runtimeContext",
            "runtimeContexts",
        }
    ),
}


def scenarios_written(operation: str, arguments: dict[str, Any]) -> ScenariosWrite | None:
    """The `scenarios` value a self-service mutation would write (None: it does not
    touch them). Scenarios decide what a runtime may read, so their owners may
    not change their own; writing back the value they hold is no change."""
    key = arguments.get("key")
    if operation in {"setApplicationLabel", "setRuntimeLabel"} and key == SCENARIOS_KEY:
        return ScenariosWrite(scenario_names(arguments.get("value")))
    if operation in {"deleteApplicationLabel", "deleteRuntimeLabel"} and key == SCENARIOS_KEY:
        return ScenariosWrite(None)
    if operation == "updateRuntime":
        labels = (arguments.get("in") or {}).get("labels") or {}
        if SCENARIOS_KEY in labels:
            return ScenariosWrite(scenario_names(labels[SCENARIOS_KEY]))
    return None


@dataclass(frozen=True)
class ScenariosWrite:
    """The scenarios a mutation sets, or None when it deletes the label."""

    names: list[str] | None

    def changes(self, current: Any) -> bool:
        if self.names is None:
            return current is not None
        return current is None or sorted(self.names) != sorted(scenario_names(current))
