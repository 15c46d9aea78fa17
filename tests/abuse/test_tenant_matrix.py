"""Tenant isolation, generated from the schema: every query and mutation field
with an ID argument is sent, with tenant A's objects in every ID argument (and
the fields naming objects by key or scenario, with A's names), by tenant B's
administrator, B's application certificate and B's runtime
certificate. Each attempt is refused (an error, null, or an empty list), and A's
objects are as they were afterwards.

A new field with an ID argument fails this test until `TARGETS` says which
object kind its arguments name (or `NOT_TARGETED` says why it has none)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import graphql
import pytest

from compass.errors import (
    InsufficientScopes,
    InvalidData,
    InvalidOperation,
    NotFound,
    TenantNotFound,
    Unauthorized,
)
from compass.resolvers.schema import build_schema
from tests.abuse.world import SETTINGS, World, build_world, snapshot
from tests.api.tenancy import create_tenant
from tests.api.trust import (
    BEHIND_PROXY,
    add_scenarios,
    compass_api,
    paired_application,
    paired_runtime,
)
from tests.conftest import Api

SCHEMA = graphql.build_schema(build_schema().as_str())

# The object kind (a key of World.ids) each ID argument names, by field.
TARGETS: dict[str, dict[str, str]] = {
    # Queries
    "application": {"id": "application"},
    "applicationsForRuntime": {"runtimeID": "runtime"},
    "runtime": {"id": "runtime"},
    "runtimeContext": {"id": "runtime_context"},
    "healthChecks": {"origin": "application"},
    "applicationTemplate": {"id": "application_template"},
    "integrationSystem": {"id": "integration_system"},
    "runtimeStatus": {"id": "provisioned_runtime"},
    "runtimeOperationStatus": {"id": "operation"},
    # Applications and their content
    "updateApplication": {"id": "application"},
    "unregisterApplication": {"id": "application"},
    "setApplicationLabel": {"applicationID": "application"},
    "deleteApplicationLabel": {"applicationID": "application"},
    "addBundle": {"applicationID": "application"},
    "updateBundle": {"id": "bundle"},
    "deleteBundle": {"id": "bundle"},
    "addAPIDefinitionToBundle": {"bundleID": "bundle"},
    "updateAPIDefinition": {"id": "api"},
    "deleteAPIDefinition": {"id": "api"},
    "refetchAPISpec": {"apiID": "api"},
    "addEventDefinitionToBundle": {"bundleID": "bundle"},
    "updateEventDefinition": {"id": "event"},
    "deleteEventDefinition": {"id": "event"},
    "refetchEventDefinitionSpec": {"eventID": "event"},
    "addDocumentToBundle": {"bundleID": "bundle"},
    "deleteDocument": {"id": "document"},
    "addWebhook": {"applicationID": "application"},
    "updateWebhook": {"webhookID": "webhook"},
    "deleteWebhook": {"webhookID": "webhook"},
    "rotateWebhookSigningSecret": {"webhookID": "webhook"},
    "retryWebhookDelivery": {"id": "webhook_delivery"},
    "setDefaultEventingForApplication": {"appID": "application", "runtimeID": "runtime"},
    "deleteDefaultEventingForApplication": {"appID": "application"},
    # Bundle instance auths
    "requestBundleInstanceAuthCreation": {
        "bundleID": "bundle",
        "runtimeID": "runtime",
        "runtimeContextID": "runtime_context",
    },
    "requestBundleInstanceAuthDeletion": {"authID": "instance_auth"},
    "setBundleInstanceAuth": {"authID": "instance_auth"},
    "deleteBundleInstanceAuth": {"authID": "instance_auth"},
    # Runtimes and their contexts
    "updateRuntime": {"id": "runtime"},
    "unregisterRuntime": {"id": "runtime"},
    "setRuntimeLabel": {"runtimeID": "runtime"},
    "deleteRuntimeLabel": {"runtimeID": "runtime"},
    "registerRuntimeContext": {"runtimeID": "runtime"},
    "updateRuntimeContext": {"id": "runtime_context"},
    "unregisterRuntimeContext": {"id": "runtime_context"},
    # Global objects made by A's administrator
    "updateApplicationTemplate": {"id": "application_template"},
    "deleteApplicationTemplate": {"id": "application_template"},
    "updateIntegrationSystem": {"id": "integration_system"},
    "unregisterIntegrationSystem": {"id": "integration_system"},
    # Credentials
    "requestOneTimeTokenForApplication": {"id": "application"},
    "requestOneTimeTokenForRuntime": {"id": "runtime"},
    "requestClientCredentialsForApplication": {"id": "application"},
    "requestClientCredentialsForRuntime": {"id": "runtime"},
    "requestClientCredentialsForIntegrationSystem": {"id": "integration_system"},
    "deleteSystemAuthForApplication": {"authID": "application_auth"},
    "deleteSystemAuthForRuntime": {"authID": "runtime_auth"},
    "deleteSystemAuthForIntegrationSystem": {"authID": "integration_system_auth"},
    # Provisioning
    "upgradeRuntime": {"id": "provisioned_runtime"},
    "deprovisionRuntime": {"id": "provisioned_runtime"},
    "rollBackUpgradeOperation": {"id": "provisioned_runtime"},
    "reconnectRuntimeAgent": {"id": "provisioned_runtime"},
}
# Fields that name A's objects by a key or a scenario instead of an ID.
NAMED_TARGETS: dict[str, dict[str, Any]] = {
    "labelDefinition": {"key": "size"},
    "updateLabelDefinition": {"in": {"key": "size", "schema": '{"type": "integer", "minimum": 0}'}},
    "deleteLabelDefinition": {"key": "size", "deleteRelatedLabels": True},
    "automaticScenarioAssignmentForScenario": {"scenarioName": "SHOP"},
    "automaticScenarioAssignmentsForSelector": {"selector": {"key": "region", "value": "eu"}},
    "deleteAutomaticScenarioAssignmentForScenario": {"scenarioName": "SHOP"},
    "deleteAutomaticScenarioAssignmentsForSelector": {"selector": {"key": "region", "value": "eu"}},
}
# Fields with an ID-like argument that names no object of a tenant.
NOT_TARGETED: dict[str, str] = {}
# Global objects: every tenant reads them (upstream does too); changing them is
# what must be refused, and is, above.
READABLE_BY_ALL = {
    "applicationTemplate": "application templates are global and listed to every tenant",
    "integrationSystem": "integration systems are global and listed to every tenant",
}
# Arguments whose generic sample would miss A's object.
ARGUMENT_SAMPLES: dict[tuple[str, str], Any] = {
    ("deleteApplicationLabel", "key"): "env",
    ("setApplicationLabel", "key"): "env",
    ("deleteRuntimeLabel", "key"): "region",
    ("setRuntimeLabel", "key"): "region",
}
SCALAR_SAMPLES: dict[str, Any] = {
    "String": "b-sample",
    "ID": "b-sample",
    "Boolean": True,
    "Int": 1,
    "Float": 1.0,
    "JSON": "{}",
    "JSONSchema": '{"type": "object"}',
    "CLOB": "# from B",
    "Labels": {"env": "b"},
    "Any": "b",
    "HttpHeaders": {},
    "HttpHeadersSerialized": "{}",
    "QueryParams": {},
    "QueryParamsSerialized": "{}",
}
INPUT_SAMPLES: dict[str, Any] = {
    "WebhookInput": {"type": "CONFIGURATION_CHANGED", "url": "http://127.0.0.1:9/b"},
    "APIDefinitionInput": {"name": "b-api", "targetURL": "http://127.0.0.1:9/b"},
    "ApplicationTemplateInput": {
        "name": "b-template",
        "applicationInput": {"name": "b-app"},
        "accessLevel": "GLOBAL",
    },
    "BundleInstanceAuthRequestInput": {"inputParams": "{}"},
    "BundleInstanceAuthSetInput": {
        "auth": {"credential": {"basic": {"username": "b", "password": "b"}}}
    },
    "KymaConfigInput": {"version": "2.0", "components": []},
    "RuntimeContextInput": {"key": "b_ns", "value": "b"},
    "DocumentInput": {
        "title": "b",
        "displayName": "B",
        "description": "from B",
        "format": "MARKDOWN",
        "data": "# from B",
    },
}
# InvalidData is no refusal: it would hide a missing tenant check behind a bad sample.
REFUSALS = {
    error.code
    for error in (NotFound, InsufficientScopes, TenantNotFound, Unauthorized, InvalidOperation)
}
# Last in the control run, so the attempts before them find their objects.
_DESTRUCTIVE = ("delete", "unregister", "deprovision")


def _control_order(each: Attempt) -> int:
    """Refetches before the updates that replace the specs they refetch."""
    if each.field.startswith("refetch"):
        return 0
    return 2 if each.field.startswith(_DESTRUCTIVE) else 1


def _named(type_: Any) -> Any:
    return graphql.get_named_type(type_)


def _names_an_object(argument: str, type_: Any) -> bool:
    """ID arguments, and String ones called like IDs (`appID`, `id`)."""
    name = _named(type_).name
    if name == "ID":
        return True
    return name == "String" and (argument == "id" or argument.endswith(("ID", "Id")))


def _operation_of(name: str) -> str:
    return "query" if name in SCHEMA.query_type.fields else "mutation"  # type: ignore[union-attr]


def id_fields() -> list[tuple[str, str]]:
    """(operation, field) of every root field with an ID argument."""
    found = []
    for operation, root in [("query", SCHEMA.query_type), ("mutation", SCHEMA.mutation_type)]:
        assert root is not None
        for name, field in root.fields.items():
            if any(_names_an_object(a, arg.type) for a, arg in field.args.items()):
                found.append((operation, name))
    return found


def sample(type_: Any) -> Any:
    """The smallest value of an input type that passes the schema."""
    if isinstance(type_, graphql.GraphQLNonNull):
        return sample(type_.of_type)
    if isinstance(type_, graphql.GraphQLList):
        return [sample(type_.of_type)]
    if isinstance(type_, graphql.GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, graphql.GraphQLInputObjectType):
        if type_.name in INPUT_SAMPLES:
            return INPUT_SAMPLES[type_.name]
        return {
            name: sample(field.type)
            for name, field in type_.fields.items()
            if graphql.is_required_input_field(field)
        }
    return SCALAR_SAMPLES[type_.name]


def _selection(type_: Any) -> str:
    named = _named(type_)
    if not isinstance(named, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType):
        return ""
    if isinstance(named, graphql.GraphQLObjectType) and "totalCount" in named.fields:
        return " { __typename totalCount }"
    return " { __typename }"


@dataclass
class Attempt:
    field: str
    document: str
    variables: dict[str, Any]


def attempt(operation: str, name: str, ids: dict[str, str]) -> Attempt:
    """A document calling `name` with A's objects in its ID arguments."""
    root = SCHEMA.query_type if operation == "query" else SCHEMA.mutation_type
    assert root is not None
    field = root.fields[name]
    targets = TARGETS.get(name, {})
    named = NAMED_TARGETS.get(name, {})
    declared, passed, variables = [], [], {}
    for index, (argument, spec) in enumerate(field.args.items()):
        if argument in targets:
            value = ids[targets[argument]]
        elif argument in named:
            value = named[argument]
        elif (name, argument) in ARGUMENT_SAMPLES:
            value = ARGUMENT_SAMPLES[(name, argument)]
        elif isinstance(spec.type, graphql.GraphQLNonNull):
            value = sample(spec.type)
        else:
            continue
        declared.append(f"$a{index}: {spec.type}")
        passed.append(f"{argument}: $a{index}")
        variables[f"a{index}"] = value
    document = (
        f"{operation}({', '.join(declared)}) {{ {name}({', '.join(passed)})"
        f"{_selection(field.type)} }}"
    )
    return Attempt(name, document, variables)


def refused(body: dict[str, Any], field: str) -> str | None:
    """None when the answer refuses; else what it gave away."""
    errors = body.get("errors") or []
    codes = [(error.get("extensions") or {}).get("error_code") for error in errors]
    if errors and not all(code in REFUSALS for code in codes):
        return f"refused with unexpected codes {codes}: {errors}"
    value = (body.get("data") or {}).get(field)
    if value is None or value == [] or (isinstance(value, dict) and value.get("totalCount") == 0):
        return None
    return f"answered {value}"


@dataclass
class Callers:
    """Tenant B's administrator, application and runtime."""

    admin: Api
    application: Api
    runtime: Api


@pytest.fixture
async def proxy(settings) -> AsyncIterator[Api]:
    async with compass_api(settings, **BEHIND_PROXY, **SETTINGS) as api:
        yield api


async def tenant_b(api: Api) -> Callers:
    tenant = await create_tenant(api.settings, "tenant-b", "tenant-b-external")
    admin = Api(api.client, api.settings, token=api.mint(tenant=tenant.id))
    # B has a scenario of A's name: names are per tenant.
    await add_scenarios(admin, "SHOP")
    _, application = await paired_application(
        admin, "b-shop", fields={"labels": {"scenarios": ["SHOP"]}}
    )
    _, runtime = await paired_runtime(admin, "b-cluster", ["SHOP"])
    return Callers(admin, application, runtime)


def test_every_id_argument_has_a_target():
    """A new field with an ID argument is named in TARGETS or NOT_TARGETED."""
    missing = []
    for _operation, name in id_fields():
        if name in NOT_TARGETED:
            continue
        field = (SCHEMA.query_type.fields | SCHEMA.mutation_type.fields)[name]  # type: ignore[union-attr]
        arguments = {a for a, arg in field.args.items() if _names_an_object(a, arg.type)}
        if not arguments <= set(TARGETS.get(name, {})):
            missing.append(f"{name}({', '.join(sorted(arguments))})")
    assert not missing, f"no target object for: {missing}"
    stale = set(TARGETS) - {name for _, name in id_fields()}
    assert not stale, f"TARGETS names fields the schema no longer has: {stale}"


async def test_tenant_b_is_refused_on_every_object_of_tenant_a(proxy):
    world: World = await build_world(proxy)
    callers = await tenant_b(proxy)
    before = await snapshot(proxy, world)
    breaches = []
    attempts = [
        attempt(operation, name, world.ids)
        for operation, name in id_fields()
        if name not in NOT_TARGETED
    ] + [attempt(_operation_of(name), name, world.ids) for name in NAMED_TARGETS]
    for caller_name, caller in vars(callers).items():
        for each in attempts:
            body = await caller.post(each.document, each.variables)
            problem = refused(body, each.field)
            if problem and not (each.field in READABLE_BY_ALL and not body.get("errors")):
                breaches.append(f"{caller_name} {each.field}: {problem}")
    assert not breaches, "\n".join(breaches)
    assert await snapshot(proxy, world) == before
    assert len(attempts) == len(TARGETS) + len(NAMED_TARGETS)


async def test_attempts_are_valid_for_tenant_a(proxy):
    """The control: A's administrator gets no InvalidData nor a schema error for
    the same attempts, so B's refusals are about the tenant, not the samples."""
    world = await build_world(proxy)
    fields = id_fields() + [(_operation_of(name), name) for name in NAMED_TARGETS]
    attempts = sorted(
        (attempt(operation, name, world.ids) for operation, name in fields), key=_control_order
    )
    invalid = []
    for each in attempts:
        body = await proxy.post(each.document, each.variables)
        for error in body.get("errors") or []:
            code = (error.get("extensions") or {}).get("error_code")
            if code in (None, InvalidData.code):
                invalid.append(f"{each.field}: {error['message']}")
    assert not invalid, "\n".join(invalid)
