"""Which change makes which configuration event, for which application: only
the applications sharing a scenario with the runtime, and never across tenants.
Read from `Webhook.deliveries`, written in the transaction of the change."""

from __future__ import annotations

import json

import pytest

from compass.config import DEFAULT_TENANT_ID
from compass.domain.label.scenarios import scenarios_schema
from tests.api.tenancy import create_tenant
from tests.api.trust import register_application, register_runtime
from tests.notifications.harness import add_webhook, deliveries_of, driven_app, events_of

HOOK_URL = "http://127.0.0.1:9/hook"  # never called: the tests do not run the deliveries
EVENTS_URL = "https://gateway.shop.example"
SET_RUNTIME_LABEL = """mutation($id: ID!, $key: String!, $value: Any!) {
  setRuntimeLabel(runtimeID: $id, key: $key, value: $value) { key } }"""
DELETE_RUNTIME_LABEL = """mutation($id: ID!, $key: String!) {
  deleteRuntimeLabel(runtimeID: $id, key: $key) { key } }"""
SET_APPLICATION_LABEL = """mutation($id: ID!, $key: String!, $value: Any!) {
  setApplicationLabel(applicationID: $id, key: $key, value: $value) { key } }"""
UPDATE_RUNTIME = (
    """mutation($id: ID!, $in: RuntimeInput!) { updateRuntime(id: $id, in: $in) { id } }"""
)
UNREGISTER_RUNTIME = "mutation($id: ID!) { unregisterRuntime(id: $id) { id } }"
DEFINE_SCENARIOS = """mutation($s: JSONSchema) {
  updateLabelDefinition(in: {key: "scenarios", schema: $s}) { key } }"""
CREATE_ASSIGNMENT = """mutation($in: AutomaticScenarioAssignmentSetInput!) {
  createAutomaticScenarioAssignment(in: $in) { scenarioName } }"""
DELETE_ASSIGNMENT = """mutation($s: String!) {
  deleteAutomaticScenarioAssignmentForScenario(scenarioName: $s) { scenarioName } }"""
SET_DEFAULT_EVENTING = """mutation($app: String!, $runtime: String!) {
  setDefaultEventingForApplication(appID: $app, runtimeID: $runtime) { defaultURL } }"""
DELETE_DEFAULT_EVENTING = """mutation($app: String!) {
  deleteDefaultEventingForApplication(appID: $app) { defaultURL } }"""

JOINED, LEFT = "RUNTIME_JOINED_SCENARIO", "RUNTIME_LEFT_SCENARIO"
CONNECTED, URL_CHANGED = "RUNTIME_CONNECTED", "RUNTIME_EVENT_URL_CHANGED"
UNREGISTERED, DEFAULT_EVENTING = "RUNTIME_UNREGISTERED", "DEFAULT_EVENTING_CHANGED"


@pytest.fixture
async def harness(settings):
    async with driven_app(settings) as running:
        yield running


@pytest.fixture
async def api(harness):
    return harness.api


async def define_scenarios(api, *names, **kw):
    await api.data(DEFINE_SCENARIOS, {"s": json.dumps(scenarios_schema(["DEFAULT", *names]))}, **kw)


async def application(api, name, scenarios, **kw):
    """An application in `scenarios` with a CONFIGURATION_CHANGED webhook."""
    app_id = await register_application(api, name, {"labels": {"scenarios": scenarios}}, **kw)
    await add_webhook(api, app_id, HOOK_URL, **kw)
    return app_id


async def runtime(api, name, labels=None, **kw):
    return await register_runtime(api, name, {"labels": labels or {"scenarios": ["DEFAULT"]}}, **kw)


async def set_runtime_label(api, runtime_id, key, value, **kw):
    await api.data(SET_RUNTIME_LABEL, {"id": runtime_id, "key": key, "value": value}, **kw)


@pytest.fixture
async def shop_and_bank(api):
    """Applications of the scenarios SHOP and BANK, and one in DEFAULT without a webhook."""
    await define_scenarios(api, "SHOP", "BANK")
    await register_application(api, "bystander", {"labels": {"scenarios": ["DEFAULT"]}})
    return await application(api, "shop", ["SHOP"]), await application(api, "bank", ["BANK"])


async def test_runtime_joining_and_leaving_scenarios_by_its_label(api, settings, shop_and_bank):
    shop, bank = shop_and_bank
    other = await create_tenant(settings, "other")
    theirs = api.mint(tenant=other.id)
    await define_scenarios(api, "SHOP", token=theirs)
    far_shop = await application(api, "shop", ["SHOP"], token=theirs)

    cluster = await runtime(api, "cluster")
    assert await events_of(api, shop) == []
    await set_runtime_label(api, cluster, "scenarios", ["SHOP"])
    await set_runtime_label(api, cluster, "scenarios", ["SHOP", "BANK"])
    await set_runtime_label(api, cluster, "scenarios", ["BANK"])
    await set_runtime_label(api, cluster, "region", "eu")  # not about scenarios

    assert await events_of(api, shop) == [(JOINED, "cluster"), (LEFT, "cluster")]
    assert await events_of(api, bank) == [(JOINED, "cluster")]
    assert await events_of(api, far_shop, token=theirs) == []

    # Their runtime joining their SHOP is news to their application only.
    await runtime(api, "their-cluster", {"scenarios": ["SHOP"]}, token=theirs)
    assert await events_of(api, far_shop, token=theirs) == [(JOINED, "their-cluster")]
    assert await events_of(api, shop) == [(JOINED, "cluster"), (LEFT, "cluster")]


async def test_event_body_names_the_event_the_tenant_the_application_and_the_runtime(
    api, shop_and_bank
):
    shop, _ = shop_and_bank
    cluster = await runtime(api, "cluster", {"scenarios": ["SHOP"]})
    [delivery] = await deliveries_of(api, shop)
    assert delivery["status"] == "PENDING" and delivery["attempts"] == []
    event = delivery["event"]
    assert set(event) == {"id", "type", "time", "tenant", "applicationID", "runtime"}
    assert event["type"] == delivery["eventType"] == JOINED
    assert event["applicationID"] == shop
    assert event["runtime"] == {"id": cluster, "name": "cluster"}
    assert event["time"].endswith("Z")
    assert event["tenant"] == DEFAULT_TENANT_ID


async def test_registered_in_a_scenario_then_unregistered(api, shop_and_bank):
    shop, bank = shop_and_bank
    cluster = await runtime(api, "cluster", {"scenarios": ["SHOP"]})
    await api.data(UNREGISTER_RUNTIME, {"id": cluster})
    assert await events_of(api, shop) == [(JOINED, "cluster"), (UNREGISTERED, "cluster")]
    assert await events_of(api, bank) == []
    # Unregistering a runtime of no application's scenario tells nobody.
    lonely = await runtime(api, "lonely")
    await api.data(UNREGISTER_RUNTIME, {"id": lonely})
    assert len(await events_of(api, shop)) == 2


async def test_event_url_changes(api, shop_and_bank):
    shop, bank = shop_and_bank
    cluster = await runtime(api, "cluster", {"scenarios": ["SHOP"]})
    await set_runtime_label(api, cluster, "runtime_eventServiceUrl", EVENTS_URL)
    await set_runtime_label(api, cluster, "runtime_eventServiceUrl", EVENTS_URL)  # no change
    await api.data(
        UPDATE_RUNTIME,
        {
            "id": cluster,
            "in": {"name": "cluster", "labels": {"runtime_eventServiceUrl": EVENTS_URL + "/v2"}},
        },
    )
    await api.data(DELETE_RUNTIME_LABEL, {"id": cluster, "key": "runtime_eventServiceUrl"})
    await set_runtime_label(api, cluster, "runtime_consoleUrl", "https://console.example")
    assert await events_of(api, shop) == [(JOINED, "cluster")] + [(URL_CHANGED, "cluster")] * 3
    assert await events_of(api, bank) == []


async def test_status_connected_set_by_an_administrator_is_told_once(api, shop_and_bank):
    shop, _ = shop_and_bank
    cluster = await runtime(api, "cluster", {"scenarios": ["SHOP"]})
    connected = {"id": cluster, "in": {"name": "cluster", "statusCondition": "CONNECTED"}}
    await api.data(UPDATE_RUNTIME, connected)
    await api.data(UPDATE_RUNTIME, connected)
    assert await events_of(api, shop) == [(JOINED, "cluster"), (CONNECTED, "cluster")]


async def test_application_changing_its_scenarios(api, shop_and_bank):
    shop, bank = shop_and_bank
    await runtime(api, "in-default")
    await runtime(api, "in-bank", {"scenarios": ["BANK"]})
    await api.data(
        SET_APPLICATION_LABEL, {"id": shop, "key": "scenarios", "value": ["SHOP", "DEFAULT"]}
    )
    await api.data(SET_APPLICATION_LABEL, {"id": shop, "key": "owner", "value": "team-a"})
    await api.data(SET_APPLICATION_LABEL, {"id": shop, "key": "scenarios", "value": ["SHOP"]})
    assert await events_of(api, shop) == [(JOINED, "in-default"), (LEFT, "in-default")]
    assert await events_of(api, bank) == [(JOINED, "in-bank")]


async def test_automatic_scenario_assignment_adds_and_takes_away(api, shop_and_bank):
    shop, bank = shop_and_bank
    await runtime(api, "eu-1", {"scenarios": ["DEFAULT"], "region": "eu"})
    await runtime(api, "us-1", {"scenarios": ["DEFAULT"], "region": "us"})
    selector = {"key": "region", "value": "eu"}
    await api.data(CREATE_ASSIGNMENT, {"in": {"scenarioName": "SHOP", "selector": selector}})
    assert await events_of(api, shop) == [(JOINED, "eu-1")]

    await runtime(api, "eu-2", {"scenarios": ["DEFAULT"], "region": "eu"})
    eu_3 = await runtime(api, "eu-3")
    await set_runtime_label(api, eu_3, "region", "eu")
    assert await events_of(api, shop) == [(JOINED, "eu-1"), (JOINED, "eu-2"), (JOINED, "eu-3")]

    await api.data(DELETE_ASSIGNMENT, {"s": "SHOP"})
    events = await events_of(api, shop)
    assert sorted(events[3:]) == [(LEFT, "eu-1"), (LEFT, "eu-2"), (LEFT, "eu-3")]
    assert await events_of(api, bank) == []


async def test_assigned_scenario_following_the_selector_is_told(api, shop_and_bank):
    shop, bank = shop_and_bank
    selector = {"key": "region", "value": "eu"}
    await api.data(CREATE_ASSIGNMENT, {"in": {"scenarioName": "SHOP", "selector": selector}})
    eu = await runtime(api, "eu-1", {"scenarios": ["DEFAULT"], "region": "eu"})
    await set_runtime_label(api, eu, "region", "us")
    await set_runtime_label(api, eu, "region", "eu")
    await api.data(DELETE_RUNTIME_LABEL, {"id": eu, "key": "region"})
    await api.data(UPDATE_RUNTIME, {"id": eu, "in": {"name": "eu-1", "labels": {"region": "eu"}}})
    assert await events_of(api, shop) == [
        (JOINED, "eu-1"),
        (LEFT, "eu-1"),
        (JOINED, "eu-1"),
        (LEFT, "eu-1"),
        (JOINED, "eu-1"),
    ]
    assert await events_of(api, bank) == []


async def test_default_eventing_changes(api, shop_and_bank):
    shop, bank = shop_and_bank
    first_url, chosen_url = "https://gateway.first.example", "https://gateway.chosen.example"
    await runtime(api, "first", {"scenarios": ["SHOP"], "runtime_eventServiceUrl": first_url})
    chosen = await runtime(
        api, "chosen", {"scenarios": ["SHOP"], "runtime_eventServiceUrl": chosen_url}
    )
    before = len(await deliveries_of(api, shop))
    await api.data(SET_DEFAULT_EVENTING, {"app": shop, "runtime": chosen})
    await api.data(DELETE_DEFAULT_EVENTING, {"app": shop})
    changes = (await deliveries_of(api, shop))[before:]
    assert [d["eventType"] for d in changes] == [DEFAULT_EVENTING] * 2
    chose, forgot = (d["event"] for d in changes)
    assert chose["runtime"] == {"id": chosen, "name": "chosen"}
    assert chose["defaultURL"].startswith(chosen_url + "/")
    # Without a choice, the oldest runtime of its scenarios with an event URL is used.
    assert "runtime" not in forgot
    assert forgot["defaultURL"].startswith(first_url + "/")
    assert DEFAULT_EVENTING not in {t for t, _ in await events_of(api, bank)}
