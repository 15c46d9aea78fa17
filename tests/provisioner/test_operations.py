"""The provisioner's operations through the API, with the command provider (a
real executable) and a runtime agent played by the test over the Connector."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.api.trust import (
    BEHIND_PROXY,
    as_certificate,
    compass_api,
    pair_with_token,
    register_runtime,
)
from tests.conftest import Api, error_code
from tests.provisioner.command_script import RecordingCommand

WAIT = 30.0
PROVISION = """mutation($config: ProvisionRuntimeInput!) {
  provisionRuntime(config: $config) { id operation state message runtimeID }
}"""
OPERATION = """query($id: String!) {
  runtimeOperationStatus(id: $id) { id operation state message runtimeID }
}"""
STATUS = """query($id: String!) { runtimeStatus(id: $id) {
  condition
  lastOperationStatus { id operation state message }
  runtimeConnectionStatus { status errors { message } }
  runtimeConfiguration {
    kubeconfig
    kymaConfig { version components { component namespace sourceURL
      configuration { key value secret } } configuration { key value } }
    clusterConfig { kubernetesVersion volumeSizeGB machineType region provider diskType
      providerSpecificConfig { __typename ... on GCPProviderConfig { zones }
        ... on AWSProviderConfig { zone vpcCidr } } }
  }
} }"""
RUNTIME = "query($id: ID!) { runtime(id: $id) { id name status { condition } labels } }"
KYMA = {
    "version": "2.1.0",
    "components": [
        {
            "component": "istio",
            "namespace": "istio-system",
            "sourceURL": "https://example.com/istio.tgz",
            "configuration": [{"key": "replicas", "value": "2", "secret": False}],
        }
    ],
    "configuration": [{"key": "domain", "value": "kyma.local"}],
}
GARDENER = {
    "kubernetesVersion": "1.27",
    "volumeSizeGB": 50,
    "machineType": "n1-standard-4",
    "region": "europe-west3",
    "provider": "gcp",
    "targetSecret": "gcp-secret",
    "diskType": "pd-standard",
    "workerCidr": "10.250.0.0/19",
    "autoScalerMin": 2,
    "autoScalerMax": 4,
    "maxSurge": 1,
    "maxUnavailable": 0,
    "providerSpecificConfig": {"gcpConfig": {"zones": ["europe-west3-a"]}},
}


async def eventually(check: Callable[[], Awaitable[Any]], what: str) -> Any:
    """Polls `check` until it returns something truthy; bounded."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def command(tmp_path) -> RecordingCommand:
    return RecordingCommand(tmp_path / "command")


@pytest.fixture
async def api(settings, command):
    async with compass_api(
        settings,
        provisioner_command=command.path,
        provisioner_default_provider="command",
        **BEHIND_PROXY,
    ) as api:
        yield api


async def provision(api: Api, name: str, **config: Any) -> dict[str, Any]:
    variables = {"config": {"runtimeInput": {"name": name, "labels": {"env": "test"}}, **config}}
    return (await api.data(PROVISION, variables))["provisionRuntime"]


async def operation(api: Api, operation_id: str) -> dict[str, Any]:
    return (await api.data(OPERATION, {"id": operation_id}))["runtimeOperationStatus"]


async def settled(api: Api, operation_id: str, state: str | None = None) -> dict[str, Any]:
    """The operation once it ended (or reached `state`)."""

    async def check() -> dict[str, Any] | None:
        found = await operation(api, operation_id)
        done = found["state"] == state if state else found["state"] in ("Succeeded", "Failed")
        return found if done else None

    return await eventually(check, f"operation {operation_id} to settle")


async def waiting_for_agent(api: Api, operation_id: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        found = await operation(api, operation_id)
        return found if "waiting for the runtime agent" in (found["message"] or "") else None

    return await eventually(check, "provisioning to wait for the agent")


async def connect_agent(api: Api, token: str, runtime_id: str) -> Api:
    """What the agent does first: pair with the token, then call as the runtime."""
    paired = await pair_with_token(api, token)
    agent = as_certificate(api, paired.certificate)
    await agent.data(RUNTIME, {"id": runtime_id})
    return agent


async def provisioned(api: Api, command: RecordingCommand, name: str = "cluster") -> str:
    started = await provision(api, name, kymaConfig=KYMA)
    await waiting_for_agent(api, started["id"])
    await connect_agent(api, command.requests("provision")[0]["token"], started["runtimeID"])
    assert (await settled(api, started["id"]))["state"] == "Succeeded"
    return started["runtimeID"]


async def test_provisioning_registers_runs_the_command_and_waits_for_the_agent(api, command):
    started = await provision(
        api,
        "cluster",
        clusterConfig={"commandConfig": {"parameters": json.dumps({"nodes": 3})}},
        kymaConfig=KYMA,
    )
    assert started["operation"] == "Provision"
    assert started["state"] in ("Pending", "InProgress")
    runtime_id = started["runtimeID"]
    runtime = (await api.data(RUNTIME, {"id": runtime_id}))["runtime"]
    assert runtime["status"]["condition"] == "PROVISIONING"
    assert runtime["labels"]["env"] == "test"
    # Registered without scenarios, as by registerRuntime: in DEFAULT.
    assert runtime["labels"]["scenarios"] == ["DEFAULT"]

    await waiting_for_agent(api, started["id"])
    [request] = command.requests("provision")
    assert request["runtimeID"] == runtime_id
    assert request["runtimeName"] == "cluster"
    assert request["connectorURL"].endswith("/connector/graphql")
    assert request["clusterConfig"] == {"commandConfig": {"parameters": {"nodes": 3}}}
    assert request["kymaConfig"] == KYMA
    assert request["agentConfig"]["events_url"] == "https://gateway.cluster.local"
    raw = json.loads(base64.b64decode(request["rawEncoded"]))
    assert raw == {"token": request["token"], "connectorURL": request["connectorURL"]}
    pending = (await api.data(STATUS, {"id": runtime_id}))["runtimeStatus"]
    assert pending["runtimeConnectionStatus"] == {"status": "Pending", "errors": None}

    await connect_agent(api, request["token"], runtime_id)
    done = await settled(api, started["id"])
    assert done["state"] == "Succeeded", done
    status = (await api.data(STATUS, {"id": runtime_id}))["runtimeStatus"]
    assert status["condition"] == "CONNECTED"
    assert status["lastOperationStatus"]["id"] == started["id"]
    assert status["runtimeConnectionStatus"]["status"] == "Connected"
    assert status["runtimeConfiguration"]["kymaConfig"] == KYMA
    assert status["runtimeConfiguration"]["clusterConfig"] is None
    # The same fields answer through the Director's runtime.
    nested = await api.data(
        "query($id: ID!) { runtime(id: $id) { status { lastOperationStatus { state } } } }",
        {"id": runtime_id},
    )
    assert nested["runtime"]["status"]["lastOperationStatus"]["state"] == "Succeeded"


async def test_a_second_operation_on_a_busy_runtime_is_refused(api, command):
    started = await provision(api, "busy", kymaConfig=KYMA)
    await waiting_for_agent(api, started["id"])
    runtime_id = started["runtimeID"]
    for document, variables in (
        ("mutation($id: String!) { deprovisionRuntime(id: $id) }", {"id": runtime_id}),
        ("mutation($id: String!) { reconnectRuntimeAgent(id: $id) }", {"id": runtime_id}),
        (
            "mutation($id: String!, $k: KymaConfigInput!) "
            "{ upgradeRuntime(id: $id, config: {kymaConfig: $k}) { id } }",
            {"id": runtime_id, "k": KYMA},
        ),
    ):
        error = await api.error(document, variables)
        assert error_code(error) == 27, error
        assert "already has an operation in progress" in error["message"]
    assert (await operation(api, started["id"]))["state"] == "InProgress"


async def test_a_failing_command_fails_the_operation_with_its_message(api, command):
    command.fail("provision", 3, "no capacity left in zone a")
    started = await provision(api, "doomed")
    failed = await settled(api, started["id"])
    assert failed["state"] == "Failed"
    assert "exited with status 3: no capacity left in zone a" in failed["message"]
    runtime = (await api.data(RUNTIME, {"id": started["runtimeID"]}))["runtime"]
    assert runtime["status"]["condition"] == "FAILED"


async def test_gardener_config_is_stored_but_fails_without_a_gardener_provider(api, command):
    started = await provision(
        api, "shoot", clusterConfig={"gardenerConfig": GARDENER}, kymaConfig=KYMA
    )
    failed = await settled(api, started["id"])
    assert failed["state"] == "Failed"
    assert "no Gardener provider is configured" in failed["message"]
    assert command.requests("provision") == []
    status = (await api.data(STATUS, {"id": started["runtimeID"]}))["runtimeStatus"]
    cluster = status["runtimeConfiguration"]["clusterConfig"]
    assert cluster["volumeSizeGB"] == 50
    assert cluster["machineType"] == "n1-standard-4"
    assert cluster["providerSpecificConfig"] == {
        "__typename": "GCPProviderConfig",
        "zones": ["europe-west3-a"],
    }


async def test_an_agent_that_never_calls_fails_the_operation(settings, command):
    async with compass_api(
        settings,
        provisioner_command=command.path,
        provisioner_default_provider="command",
        provisioner_agent_wait_seconds=0.5,
    ) as api:
        started = await provision(api, "silent")
        failed = await settled(api, started["id"])
    assert failed["state"] == "Failed"
    assert "made no certificate-authenticated call" in failed["message"]


async def test_upgrade_stores_the_kyma_config_and_roll_back_restores_it(api, command):
    runtime_id = await provisioned(api, command)
    newer = {**KYMA, "version": "2.2.0", "components": []}
    upgraded = await api.data(
        "mutation($id: String!, $k: KymaConfigInput!) "
        "{ upgradeRuntime(id: $id, config: {kymaConfig: $k}) { id operation state } }",
        {"id": runtime_id, "k": newer},
    )
    assert upgraded["upgradeRuntime"]["operation"] == "Upgrade"
    assert upgraded["upgradeRuntime"]["state"] == "Succeeded"
    status = (await api.data(STATUS, {"id": runtime_id}))["runtimeStatus"]
    assert status["runtimeConfiguration"]["kymaConfig"]["version"] == "2.2.0"

    rolled = await api.data(
        "mutation($id: String!) { rollBackUpgradeOperation(id: $id) "
        "{ runtimeConfiguration { kymaConfig { version } } } }",
        {"id": runtime_id},
    )
    kyma = rolled["rollBackUpgradeOperation"]["runtimeConfiguration"]["kymaConfig"]
    assert kyma["version"] == "2.1.0"
    again = await api.error(
        "mutation($id: String!) { rollBackUpgradeOperation(id: $id) { condition } }",
        {"id": runtime_id},
    )
    assert error_code(again) == 27


async def test_reconnect_hands_the_agent_a_new_token(api, command):
    runtime_id = await provisioned(api, command)
    operation_id = (
        await api.data(
            "mutation($id: String!) { reconnectRuntimeAgent(id: $id) }", {"id": runtime_id}
        )
    )["reconnectRuntimeAgent"]
    done = await settled(api, operation_id)
    assert done["state"] == "Succeeded"
    assert done["operation"] == "ReconnectRuntime"
    [request] = command.requests("reconnect")
    assert request["token"] != command.requests("provision")[0]["token"]
    await connect_agent(api, request["token"], runtime_id)


async def test_deprovision_runs_the_command_and_removes_the_runtime(api, command):
    started = await provision(api, "gone", kymaConfig=KYMA)
    await waiting_for_agent(api, started["id"])
    runtime_id = started["runtimeID"]
    agent = await connect_agent(api, command.requests("provision")[0]["token"], runtime_id)
    await settled(api, started["id"])

    operation_id = (
        await api.data("mutation($id: String!) { deprovisionRuntime(id: $id) }", {"id": runtime_id})
    )["deprovisionRuntime"]
    done = await settled(api, operation_id)
    assert done["state"] == "Succeeded", done
    assert done["operation"] == "Deprovision"
    assert [r["action"] for r in command.requests("deprovision")] == ["deprovision"]
    assert (await api.data(RUNTIME, {"id": runtime_id}))["runtime"] is None
    assert (await api.data(STATUS, {"id": runtime_id}))["runtimeStatus"] is None
    refused = await agent.error(RUNTIME, {"id": runtime_id})
    assert error_code(refused) == 26
    # The operation outlives the runtime: it says what happened to it.
    assert (await operation(api, operation_id))["runtimeID"] == runtime_id


async def test_a_failing_deprovision_keeps_the_runtime(api, command):
    runtime_id = await provisioned(api, command)
    command.fail("deprovision", 1, "cluster is locked")
    operation_id = (
        await api.data("mutation($id: String!) { deprovisionRuntime(id: $id) }", {"id": runtime_id})
    )["deprovisionRuntime"]
    failed = await settled(api, operation_id)
    assert failed["state"] == "Failed"
    assert "cluster is locked" in failed["message"]
    assert (await api.data(RUNTIME, {"id": runtime_id}))["runtime"] is not None


async def test_operations_on_runtimes_the_provisioner_did_not_create(api, command):
    by_hand = await register_runtime(api, "by-hand")
    refused = await api.error(
        "mutation($id: String!) { deprovisionRuntime(id: $id) }", {"id": by_hand}
    )
    assert error_code(refused) == 27
    missing = await api.error(
        "mutation($id: String!) { reconnectRuntimeAgent(id: $id) }", {"id": "no-such-runtime"}
    )
    assert error_code(missing) == 20
    assert (await api.data(OPERATION, {"id": "no-such-operation"}))[
        "runtimeOperationStatus"
    ] is None
    status = (await api.data(STATUS, {"id": by_hand}))["runtimeStatus"]
    assert status["lastOperationStatus"] is None
    assert status["runtimeConfiguration"] is None


async def test_bad_provisioning_input_is_refused_before_anything_is_written(api, command):
    both = await api.error(
        PROVISION,
        {
            "config": {
                "runtimeInput": {"name": "two"},
                "clusterConfig": {"localConfig": {}, "commandConfig": {}},
            }
        },
    )
    assert error_code(both) == 22
    bad_url = await api.error(
        PROVISION,
        {
            "config": {
                "runtimeInput": {"name": "bad-url"},
                "clusterConfig": {"localConfig": {"eventServiceURL": "not a url"}},
            }
        },
    )
    assert error_code(bad_url) == 22
    bad_json = await api.error(
        PROVISION,
        {
            "config": {
                "runtimeInput": {"name": "bad-json"},
                "clusterConfig": {"commandConfig": {"parameters": "{nope"}},
            }
        },
    )
    assert error_code(bad_json) == 22
    runtimes = await api.data("{ runtimes { totalCount } }")
    assert runtimes["runtimes"]["totalCount"] == 0


async def test_provisioner_operations_need_runtime_scopes(api, command):
    reader = api.mint(scopes=["runtime:read"])
    refused = await api.error(PROVISION, {"config": {"runtimeInput": {"name": "x"}}}, token=reader)
    assert error_code(refused) == 23
    nobody = api.mint(scopes=["application:read"])
    refused = await api.error(OPERATION, {"id": "x"}, token=nobody)
    assert error_code(refused) == 23


async def test_the_provisioner_path_serves_the_same_schema(api, command):
    body = await api.post(
        '{ runtimeOperationStatus(id: "none") { id } }', path="/provisioner/graphql"
    )
    assert body == {"data": {"runtimeOperationStatus": None}}
