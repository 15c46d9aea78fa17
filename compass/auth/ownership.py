"""Operations an application or a runtime may run on itself, and the argument
that names the object each one touches. Anything else is refused to them."""

from __future__ import annotations

from compass.auth.principal import ConsumerType
from compass.domain.ownership import ObjectType

__all__ = ["SELF_SERVICE_MUTATIONS", "OWN_QUERIES"]

_APP = ObjectType.APPLICATION
_BUNDLE = ObjectType.BUNDLE

# mutation name -> (Python argument name, type of the object it names);
# None: the operation acts on the caller by construction.
SELF_SERVICE_MUTATIONS: dict[ConsumerType, dict[str, tuple[str, ObjectType] | None]] = {
    ConsumerType.APPLICATION: {
        "updateApplication": ("id", _APP),
        "setApplicationLabel": ("application_id", _APP),
        "deleteApplicationLabel": ("application_id", _APP),
        "addWebhook": ("application_id", _APP),
        "updateWebhook": ("webhook_id", ObjectType.WEBHOOK),
        "deleteWebhook": ("webhook_id", ObjectType.WEBHOOK),
        "addBundle": ("application_id", _APP),
        "updateBundle": ("id", _BUNDLE),
        "deleteBundle": ("id", _BUNDLE),
        "addAPIDefinitionToBundle": ("bundle_id", _BUNDLE),
        "updateAPIDefinition": ("id", ObjectType.API_DEFINITION),
        "deleteAPIDefinition": ("id", ObjectType.API_DEFINITION),
        "refetchAPISpec": ("api_id", ObjectType.API_DEFINITION),
        "addEventDefinitionToBundle": ("bundle_id", _BUNDLE),
        "updateEventDefinition": ("id", ObjectType.EVENT_DEFINITION),
        "deleteEventDefinition": ("id", ObjectType.EVENT_DEFINITION),
        "refetchEventDefinitionSpec": ("event_id", ObjectType.EVENT_DEFINITION),
        "addDocumentToBundle": ("bundle_id", _BUNDLE),
        "deleteDocument": ("id", ObjectType.DOCUMENT),
    },
    ConsumerType.RUNTIME: {
        "updateRuntime": ("id", ObjectType.RUNTIME),
        "setRuntimeLabel": ("runtime_id", ObjectType.RUNTIME),
        "deleteRuntimeLabel": ("runtime_id", ObjectType.RUNTIME),
        "registerRuntimeContext": None,
        "updateRuntimeContext": None,
        "unregisterRuntimeContext": None,
    },
}

# Queries they may run; the services narrow the results to what the caller may see.
OWN_QUERIES: dict[ConsumerType, frozenset[str]] = {
    ConsumerType.APPLICATION: frozenset({"viewer", "application", "applications"}),
    ConsumerType.RUNTIME: frozenset(
        {
            "viewer",
            "runtime",
            "runtimes",
            "application",
            "applications",
            "applicationsForRuntime",
            "runtimeContext",
            "runtimeContexts",
        }
    ),
}
