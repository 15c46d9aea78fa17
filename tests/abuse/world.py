"""One object of every kind in a tenant, made as its administrator would, for
the abuse tests to aim at; and a snapshot of them to see that nothing changed."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from typing import Any

from compass.config import Settings
from tests.api.trust import add_scenarios
from tests.conftest import Api

__all__ = ["SETTINGS", "World", "build_world", "snapshot"]

# Provisioning runs the command provider with an executable that succeeds at
# once: operations exist without starting runtime agent processes.
SETTINGS: dict[str, Any] = {
    "provisioner_default_provider": "command",
    "provisioner_command": shutil.which("true"),
}

# Nothing listens on the discard port: fetches fail at once, on loopback.
_FETCH = {"url": "http://127.0.0.1:9/spec.json"}
_APPLICATION = {
    "name": "shop",
    "description": "the shop",
    "labels": {"scenarios": ["SHOP"], "env": "dev", "size": 1},
    "webhooks": [{"type": "CONFIGURATION_CHANGED", "url": "http://127.0.0.1:9/hook"}],
    "bundles": [
        {
            "name": "orders",
            "instanceAuthRequestInputSchema": json.dumps({"type": "object"}),
            "defaultInstanceAuth": {
                "credential": {"basic": {"username": "shop", "password": "secret"}}
            },
            "apiDefinitions": [
                {
                    "name": "orders-api",
                    "targetURL": "http://127.0.0.1:9/api",
                    "spec": {"type": "OPEN_API", "format": "JSON", "fetchRequest": _FETCH},
                }
            ],
            "eventDefinitions": [
                {
                    "name": "order-created",
                    "spec": {"type": "ASYNC_API", "format": "JSON", "fetchRequest": _FETCH},
                }
            ],
            "documents": [
                {
                    "title": "guide",
                    "displayName": "Guide",
                    "description": "how to order",
                    "format": "MARKDOWN",
                    "data": "# Orders",
                }
            ],
        }
    ],
}
_REGISTER = """mutation($in: ApplicationRegisterInput!) { registerApplication(in: $in) {
    id webhooks { id } bundles { data { id apiDefinitions { data { id } }
    eventDefinitions { data { id } } documents { data { id } } } } } }"""
_PROVISION = """mutation($in: ProvisionRuntimeInput!) { provisionRuntime(config: $in) {
    id runtimeID } }"""
_TEMPLATE = {
    "name": "shop-template",
    "applicationInput": {"name": "{{name}}"},
    "placeholders": [{"name": "name"}],
    "accessLevel": "GLOBAL",
}


@dataclass
class World:
    """IDs by object kind (see `build_world`)."""

    ids: dict[str, str]

    def all_ids(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.ids.values())))


async def _one(api: Api, query: str, variables: dict[str, Any] | None = None) -> Any:
    data = await api.data(query, variables)
    (value,) = data.values()
    return value


async def _application(api: Api, ids: dict[str, str]) -> None:
    app = await _one(api, _REGISTER, {"in": _APPLICATION})
    bundle = app["bundles"]["data"][0]
    ids.update(
        application=app["id"],
        webhook=app["webhooks"][0]["id"],
        bundle=bundle["id"],
        api=bundle["apiDefinitions"]["data"][0]["id"],
        event=bundle["eventDefinitions"]["data"][0]["id"],
        document=bundle["documents"]["data"][0]["id"],
    )


async def _runtime(api: Api, ids: dict[str, str]) -> None:
    ids["runtime"] = (
        await _one(
            api,
            'mutation { registerRuntime(in: {name: "cluster", labels: {scenarios: ["SHOP"], '
            'region: "eu"}}) { id } }',
        )
    )["id"]
    ids["runtime_context"] = (
        await _one(
            api,
            'mutation($rt: ID) { registerRuntimeContext(in: {key: "ns", value: "a"}, '
            "runtimeID: $rt) { id } }",
            {"rt": ids["runtime"]},
        )
    )["id"]
    ids["instance_auth"] = (
        await _one(
            api,
            "mutation($b: ID!, $rt: ID) { requestBundleInstanceAuthCreation(bundleID: $b, "
            'in: {inputParams: "{}"}, runtimeID: $rt) { id } }',
            {"b": ids["bundle"], "rt": ids["runtime"]},
        )
    )["id"]


async def _credentials(api: Api, ids: dict[str, str]) -> None:
    ids["integration_system"] = (
        await _one(api, 'mutation { registerIntegrationSystem(in: {name: "sync"}) { id } }')
    )["id"]
    for kind, owner in [
        ("Application", "application"),
        ("Runtime", "runtime"),
        ("IntegrationSystem", "integration_system"),
    ]:
        query = f"mutation($id: ID!) {{ requestClientCredentialsFor{kind}(id: $id) {{ id }} }}"
        ids[f"{owner}_auth"] = (await _one(api, query, {"id": ids[owner]}))["id"]


async def _globals(api: Api, ids: dict[str, str]) -> None:
    ids["application_template"] = (
        await _one(
            api,
            "mutation($in: ApplicationTemplateInput!) { createApplicationTemplate(in: $in) "
            "{ id } }",
            {"in": _TEMPLATE},
        )
    )["id"]
    await api.data(
        'mutation { createAutomaticScenarioAssignment(in: {scenarioName: "SHOP", '
        'selector: {key: "region", value: "eu"}}) { scenarioName } }'
    )
    operation = await _one(
        api,
        _PROVISION,
        {"in": {"runtimeInput": {"name": "provisioned"}, "clusterConfig": {"commandConfig": {}}}},
    )
    ids.update(operation=operation["id"], provisioned_runtime=operation["runtimeID"])


async def _delivery(api: Api, ids: dict[str, str]) -> None:
    """The application's webhook was told about the runtime joining SHOP."""
    hooks = await _one(
        api,
        "query($id: ID!) { application(id: $id) { webhooks { deliveries { id } } } }",
        {"id": ids["application"]},
    )
    deliveries = [d["id"] for hook in hooks["webhooks"] for d in hook["deliveries"]]
    assert deliveries, hooks
    ids["webhook_delivery"] = deliveries[0]


async def build_world(api: Api) -> World:
    """Every kind of object in the administrator's tenant."""
    await add_scenarios(api, "SHOP")
    await api.data(
        'mutation($s: JSONSchema) { createLabelDefinition(in: {key: "size", schema: $s}) { key } }',
        {"s": json.dumps({"type": "integer"})},
    )
    ids: dict[str, str] = {}
    await _application(api, ids)
    await _runtime(api, ids)
    await _credentials(api, ids)
    await _globals(api, ids)
    await _delivery(api, ids)
    return World(ids)


_SNAPSHOT = """query($rt: ID!, $ctx: ID!, $is: ID!, $tpl: ID!, $prt: ID!) {
  applications { data { id name description providerName healthCheckURL integrationSystemID
    labels status { condition }
    webhooks { id type url auth { credential { __typename } } }
    auths { id }
    eventingConfiguration { defaultURL }
    bundles { data { id name description instanceAuthRequestInputSchema
      defaultInstanceAuth { credential { __typename } }
      instanceAuths { id status { condition } runtimeID runtimeContextID }
      apiDefinitions { data { id name description targetURL group
        spec { data type format } version { value } } }
      eventDefinitions { data { id name description group spec { data type format } } }
      documents { data { id title displayName description format kind data } } } } } }
  runtimes { data { id name description labels auths { id } } }
  runtime(id: $rt) { id name }
  provisioned: runtime(id: $prt) { id name }
  runtimeContext(id: $ctx) { id key value labels }
  runtimeContexts { data { id key value labels } }
  labelDefinitions { key schema }
  automaticScenarioAssignments { data { scenarioName selector { key value } } }
  integrationSystem(id: $is) { id name description auths { id } }
  applicationTemplate(id: $tpl) { id name description applicationInput accessLevel }
}"""


async def snapshot(api: Api, world: World) -> Any:
    """What the tenant's administrator sees of the world; equal before and after
    an attempt means the attempt changed nothing."""
    ids = world.ids
    variables = {
        "rt": ids["runtime"],
        "ctx": ids["runtime_context"],
        "is": ids["integration_system"],
        "tpl": ids["application_template"],
        "prt": ids["provisioned_runtime"],
    }
    return await api.data(_SNAPSHOT, variables)


def settings_for_world(settings: Settings) -> Settings:
    return settings.model_copy(update=SETTINGS)
