"""Scopes required by each root operation: the one table the permission check reads.

The names and requirements follow the Compass scope mapping, so tokens minted
for Compass work unchanged. An operation missing here is refused.
"""

from __future__ import annotations

__all__ = ["REQUIRED_SCOPES", "ADMIN_SCOPES", "TENANTLESS_OPERATIONS", "required_scopes"]

_APP_READ, _APP_WRITE = "application:read", "application:write"
_RT_READ, _RT_WRITE = "runtime:read", "runtime:write"
_LD_READ, _LD_WRITE = "label_definition:read", "label_definition:write"
_ASA_READ = "automatic_scenario_assignment:read"
_ASA_WRITE = "automatic_scenario_assignment:write"
_EVENTING = "eventing:manage"
_IS_READ, _IS_WRITE = "integration_system:read", "integration_system:write"
_AT_READ, _AT_WRITE = "application_template:read", "application_template:write"

REQUIRED_SCOPES: dict[str, dict[str, tuple[str, ...]]] = {
    # Live subscriptions need what the matching queries need.
    "Subscription": {
        "runtimeConfigurationChanged": (_APP_READ,),
        "applicationConfigurationChanged": (_APP_READ,),
    },
    "Query": {
        "applications": (_APP_READ,),
        "application": (_APP_READ,),
        "applicationsForRuntime": (_APP_READ,),
        "runtimes": (_RT_READ,),
        "runtime": (_RT_READ,),
        "runtimeContexts": (_RT_READ,),
        "runtimeContext": (_RT_READ,),
        "labelDefinitions": (_LD_READ,),
        "labelDefinition": (_LD_READ,),
        "healthChecks": ("health_checks:read",),
        "viewer": (),
        "tenants": ("tenant:read",),
        "automaticScenarioAssignments": (_ASA_READ,),
        "automaticScenarioAssignmentForScenario": (_ASA_READ,),
        "automaticScenarioAssignmentsForSelector": (_ASA_READ,),
        "integrationSystems": (_IS_READ,),
        "integrationSystem": (_IS_READ,),
        "applicationTemplates": (_AT_READ,),
        "applicationTemplate": (_AT_READ,),
        # The Runtime Provisioner's, which upstream guards outside the Director.
        "runtimeStatus": (_RT_READ,),
        "runtimeOperationStatus": (_RT_READ,),
    },
    "Mutation": {
        "requestOneTimeTokenForApplication": (_APP_WRITE,),
        "requestOneTimeTokenForRuntime": (_RT_WRITE,),
        "requestClientCredentialsForApplication": (_APP_WRITE,),
        "requestClientCredentialsForRuntime": (_RT_WRITE,),
        "requestClientCredentialsForIntegrationSystem": (_IS_WRITE,),
        "deleteSystemAuthForApplication": (_APP_WRITE,),
        "deleteSystemAuthForRuntime": (_RT_WRITE,),
        "deleteSystemAuthForIntegrationSystem": (_IS_WRITE,),
        "registerApplication": (_APP_WRITE,),
        "updateApplication": (_APP_WRITE,),
        "unregisterApplication": (_APP_WRITE,),
        "setApplicationLabel": (_APP_WRITE,),
        "deleteApplicationLabel": (_APP_WRITE,),
        "registerRuntime": (_RT_WRITE,),
        "updateRuntime": (_RT_WRITE,),
        "unregisterRuntime": (_RT_WRITE,),
        "setRuntimeLabel": (_RT_WRITE,),
        "deleteRuntimeLabel": (_RT_WRITE,),
        "registerRuntimeContext": (_RT_WRITE,),
        "updateRuntimeContext": (_RT_WRITE,),
        "unregisterRuntimeContext": (_RT_WRITE,),
        "addBundle": (_APP_WRITE,),
        "updateBundle": (_APP_WRITE,),
        "deleteBundle": (_APP_WRITE,),
        "addAPIDefinitionToBundle": (_APP_WRITE,),
        "updateAPIDefinition": (_APP_WRITE,),
        "deleteAPIDefinition": (_APP_WRITE,),
        "refetchAPISpec": (_APP_WRITE,),
        "addEventDefinitionToBundle": (_APP_WRITE,),
        "updateEventDefinition": (_APP_WRITE,),
        "deleteEventDefinition": (_APP_WRITE,),
        "refetchEventDefinitionSpec": (_APP_WRITE,),
        "addDocumentToBundle": (_APP_WRITE,),
        "deleteDocument": (_APP_WRITE,),
        "requestBundleInstanceAuthCreation": (_RT_WRITE,),
        "requestBundleInstanceAuthDeletion": (_RT_WRITE,),
        "setBundleInstanceAuth": (_APP_WRITE,),
        "deleteBundleInstanceAuth": (_APP_WRITE,),
        "createLabelDefinition": (_LD_WRITE,),
        "updateLabelDefinition": (_LD_WRITE,),
        "deleteLabelDefinition": (_LD_WRITE,),
        "addWebhook": (_APP_WRITE,),
        "updateWebhook": (_APP_WRITE,),
        "deleteWebhook": (_APP_WRITE,),
        "rotateWebhookSigningSecret": (_APP_WRITE,),
        "retryWebhookDelivery": (_APP_WRITE,),
        "createAutomaticScenarioAssignment": (_ASA_WRITE,),
        "deleteAutomaticScenarioAssignmentForScenario": (_ASA_WRITE,),
        "deleteAutomaticScenarioAssignmentsForSelector": (_ASA_WRITE,),
        "setDefaultEventingForApplication": (_EVENTING,),
        "deleteDefaultEventingForApplication": (_EVENTING,),
        "registerIntegrationSystem": (_IS_WRITE,),
        "updateIntegrationSystem": (_IS_WRITE,),
        "unregisterIntegrationSystem": (_IS_WRITE,),
        "createApplicationTemplate": (_AT_WRITE,),
        "updateApplicationTemplate": (_AT_WRITE,),
        "deleteApplicationTemplate": (_AT_WRITE,),
        "registerApplicationFromTemplate": (_APP_WRITE,),
        "provisionRuntime": (_RT_WRITE,),
        "upgradeRuntime": (_RT_WRITE,),
        "deprovisionRuntime": (_RT_WRITE,),
        "rollBackUpgradeOperation": (_RT_WRITE,),
        "reconnectRuntimeAgent": (_RT_WRITE,),
    },
}

# Operations that work without choosing a tenant.
TENANTLESS_OPERATIONS = frozenset(
    {
        ("Query", "viewer"),
        ("Query", "tenants"),
        # Integration systems and templates are global.
        ("Query", "integrationSystems"),
        ("Query", "integrationSystem"),
        ("Mutation", "registerIntegrationSystem"),
        ("Mutation", "updateIntegrationSystem"),
        ("Mutation", "unregisterIntegrationSystem"),
        ("Query", "applicationTemplates"),
        ("Query", "applicationTemplate"),
        ("Mutation", "createApplicationTemplate"),
        ("Mutation", "updateApplicationTemplate"),
        ("Mutation", "deleteApplicationTemplate"),
        ("Mutation", "requestClientCredentialsForIntegrationSystem"),
        ("Mutation", "deleteSystemAuthForIntegrationSystem"),
    }
)

# Who may read the credentials of third parties kept here (everyone else gets
# null): one scope per family, as Compass names them.
WEBHOOK_CREDENTIALS_SCOPE = "application.webhooks:read"
INSTANCE_AUTH_CREDENTIALS_SCOPE = "bundle.instance_auths:read"
FETCH_REQUEST_CREDENTIALS_SCOPE = "fetch_request.auth:read"

# What an administrator token carries by default: every scope of the mapping.
ADMIN_SCOPES: tuple[str, ...] = (
    "application:read",
    "application:write",
    "application.webhooks:read",
    "application_template:read",
    "application_template:write",
    "automatic_scenario_assignment:read",
    "automatic_scenario_assignment:write",
    "bundle.instance_auths:read",
    "eventing:manage",
    "fetch_request.auth:read",
    "health_checks:read",
    "integration_system:read",
    "integration_system:write",
    "label_definition:read",
    "label_definition:write",
    "runtime:read",
    "runtime:write",
    "tenant:read",
)


def required_scopes(root: str, field: str) -> tuple[str, ...] | None:
    """None when the operation is unknown to the table (then it is refused)."""
    return REQUIRED_SCOPES.get(root, {}).get(field)
