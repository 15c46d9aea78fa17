"""Bundle instance auths through the API, with the real parties: a runtime and
an application authenticated by the certificates the Connector issued them.

The runtime asks for credentials to a bundle, the application is notified
and answers, the runtime reads them, and gives them back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from compass.auth.scopes import ADMIN_SCOPES
from compass.config import Settings
from compass.db import create_engine
from tests.api.tenancy import create_tenant
from tests.api.test_query_count import counting_statements
from tests.api.trust import (
    BEHIND_PROXY,
    add_scenarios,
    compass_api,
    paired_application,
    paired_runtime,
    register_application,
    register_runtime,
)
from tests.conftest import Api, error_code

SECRETS_SCOPE = "bundle.instance_auths:read"
HOOK = {"type": "CONFIGURATION_CHANGED", "url": "https://shop.example/hook"}
PARAMS_SCHEMA = {
    "type": "object",
    "properties": {"namespace": {"type": "string"}},
    "required": ["namespace"],
}
BASIC = {"credential": {"basic": {"username": "rt-user", "password": "s3cret-Pa55"}}}

FIELDS = """id runtimeID runtimeContextID context inputParams
    status { condition message reason timestamp }
    auth { credential { ... on BasicCredentialData { username password } } }"""
ADD_BUNDLE = """mutation($app: ID!, $in: BundleCreateInput!) {
    addBundle(applicationID: $app, in: $in) { id } }"""
REQUEST = f"""mutation($bundle: ID!, $in: BundleInstanceAuthRequestInput!, $runtime: ID,
    $context: ID) {{ requestBundleInstanceAuthCreation(bundleID: $bundle, in: $in,
    runtimeID: $runtime, runtimeContextID: $context) {{ {FIELDS} }} }}"""
SET = f"""mutation($id: ID!, $in: BundleInstanceAuthSetInput!) {{
    setBundleInstanceAuth(authID: $id, in: $in) {{ {FIELDS} }} }}"""
REQUEST_DELETION = f"""mutation($id: ID!) {{
    requestBundleInstanceAuthDeletion(authID: $id) {{ {FIELDS} }} }}"""
DELETE = f"mutation($id: ID!) {{ deleteBundleInstanceAuth(authID: $id) {{ {FIELDS} }} }}"
FOR_RUNTIME = """query($id: ID!) { applicationsForRuntime(runtimeID: $id) { data {
    bundles { data { instanceAuths { id status { condition }
    auth { credential { ... on BasicCredentialData { username password } } } } } } } } }"""
BUNDLE = f"""query($app: ID!, $bundle: ID!, $auth: ID!) {{ application(id: $app) {{
    bundle(id: $bundle) {{ instanceAuths {{ {FIELDS} }} instanceAuth(id: $auth) {{ {FIELDS} }} }}
}} }}"""


@pytest.fixture
async def proxy(settings):
    async with compass_api(settings, **BEHIND_PROXY) as api:
        yield api


@dataclass
class Parties:
    admin: Api
    app_id: str
    app: Api
    runtime_id: str
    runtime: Api
    bundle_id: str


async def parties(admin: Api, bundle: dict[str, Any] | None = None) -> Parties:
    """An application in scenario SHOP with a configuration webhook and one
    bundle, and a runtime in SHOP; both paired."""
    await add_scenarios(admin, "SHOP", "BANK")
    app_id, app = await paired_application(
        admin, "shop", fields={"labels": {"scenarios": ["SHOP"]}, "webhooks": [HOOK]}
    )
    runtime_id, runtime = await paired_runtime(admin, "cluster", ["SHOP"])
    fields = {"name": "orders", **(bundle or {})}
    added = await app.data(ADD_BUNDLE, {"app": app_id, "in": fields})
    return Parties(admin, app_id, app, runtime_id, runtime, added["addBundle"]["id"])


def request_input(params: Any = None, context: Any = None) -> dict[str, Any]:
    return {
        "inputParams": None if params is None else json.dumps(params),
        "context": None if context is None else json.dumps(context),
    }


async def request(caller: Api, bundle_id: str, **kw: Any) -> dict[str, Any]:
    variables = {"bundle": bundle_id, "in": request_input(**kw)}
    return (await caller.data(REQUEST, variables))["requestBundleInstanceAuthCreation"]


async def failure(caller: Api, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = await caller.post(query, variables)
    assert body.get("errors"), body
    assert len(body["errors"]) == 1, body
    assert body.get("data") is None, body
    return body["errors"][0]


async def rows(settings: Settings, statement: str) -> list[Any]:
    engine = create_engine(settings.sqlalchemy_url())
    try:
        async with engine.connect() as connection:
            return list(await connection.execute(sa.text(statement)))
    finally:
        await engine.dispose()


async def events(settings: Settings) -> list[dict[str, Any]]:
    """Instance auth events written for webhooks, oldest first (others, such as
    a runtime joining a scenario, are not these tests' business)."""
    found = await rows(
        settings,
        "SELECT event FROM webhook_deliveries "
        "WHERE event_type LIKE 'BUNDLE_INSTANCE_AUTH_%' ORDER BY created_at",
    )
    return [json.loads(event) for (event,) in found]


async def instance_auths_of_runtime(world: Parties) -> list[dict[str, Any]]:
    data = await world.runtime.data(FOR_RUNTIME, {"id": world.runtime_id})
    apps = data["applicationsForRuntime"]["data"]
    return [auth for a in apps for b in a["bundles"]["data"] for auth in b["instanceAuths"]]


async def bundle_view(world: Parties, auth_id: str, caller: Api | None = None) -> dict[str, Any]:
    variables = {"app": world.app_id, "bundle": world.bundle_id, "auth": auth_id}
    return (await (caller or world.admin).data(BUNDLE, variables))["application"]["bundle"]


# Requesting, answering, reading


async def test_runtime_request_is_pending_and_the_application_is_notified(proxy, settings):
    world = await parties(proxy, {"instanceAuthRequestInputSchema": json.dumps(PARAMS_SCHEMA)})
    created = await request(
        world.runtime, world.bundle_id, params={"namespace": "prod"}, context={"ns": "prod"}
    )
    assert created["status"]["condition"] == "PENDING"
    assert created["status"]["reason"] == "CredentialsNotProvided"
    assert created["runtimeID"] == world.runtime_id
    assert created["auth"] is None
    assert json.loads(created["inputParams"]) == {"namespace": "prod"}
    assert json.loads(created["context"]) == {"ns": "prod"}

    [event] = await events(settings)
    assert event["type"] == "BUNDLE_INSTANCE_AUTH_REQUESTED"
    assert event["applicationID"] == world.app_id
    assert event["runtime"] == {"id": world.runtime_id, "name": "cluster"}
    assert event["bundleID"] == world.bundle_id
    assert event["instanceAuthID"] == created["id"]
    [(webhook_url,)] = await rows(
        settings,
        "SELECT w.url FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id "
        "WHERE d.event_type = 'BUNDLE_INSTANCE_AUTH_REQUESTED'",
    )
    assert webhook_url == HOOK["url"]


async def test_application_sets_credentials_and_the_runtime_reads_them(proxy):
    world = await parties(proxy)
    created = await request(world.runtime, world.bundle_id)
    answered = await world.app.data(SET, {"id": created["id"], "in": {"auth": BASIC}})
    done = answered["setBundleInstanceAuth"]
    assert done["status"]["condition"] == "SUCCEEDED"
    assert done["status"]["reason"] == "CredentialsProvided"
    assert done["auth"]["credential"] == BASIC["credential"]["basic"]

    [seen] = await instance_auths_of_runtime(world)
    assert seen == {
        "id": created["id"],
        "status": {"condition": "SUCCEEDED"},
        "auth": {"credential": {"username": "rt-user", "password": "s3cret-Pa55"}},
    }
    # The application sees them on its bundle, and so does an administrator.
    for caller in (world.app, world.admin):
        view = await bundle_view(world, created["id"], caller)
        assert view["instanceAuth"]["auth"]["credential"]["password"] == "s3cret-Pa55"
        assert [a["id"] for a in view["instanceAuths"]] == [created["id"]]


async def test_credentials_are_not_stored_in_plain_text(proxy, settings):
    world = await parties(
        proxy,
        {"defaultInstanceAuth": {"credential": {"basic": {"username": "d", "password": "x"}}}},
    )
    created = await request(world.runtime, world.bundle_id)
    # A bundle without default: the application's credentials.
    other = (await world.app.data(ADD_BUNDLE, {"app": world.app_id, "in": {"name": "more"}}))[
        "addBundle"
    ]["id"]
    pending = await request(world.runtime, other)
    await world.app.data(SET, {"id": pending["id"], "in": {"auth": BASIC}})
    stored = await rows(settings, "SELECT id, auth FROM bundle_instance_auths")
    assert {row_id for row_id, _ in stored} >= {created["id"], pending["id"]}
    for _row_id, sealed in stored:
        assert sealed
        assert "s3cret-Pa55" not in sealed and "rt-user" not in sealed
        assert "password" not in sealed and "basic" not in sealed


async def test_default_instance_auth_is_handed_out_at_once(proxy, settings):
    world = await parties(proxy, {"defaultInstanceAuth": BASIC})
    created = await request(world.runtime, world.bundle_id)
    assert created["status"]["condition"] == "SUCCEEDED"
    assert created["auth"]["credential"] == BASIC["credential"]["basic"]
    assert await events(settings) == []
    # Given back, it is gone at once: there is nothing for the application to revoke.
    released = await world.runtime.data(REQUEST_DELETION, {"id": created["id"]})
    assert released["requestBundleInstanceAuthDeletion"]["status"]["condition"] == "SUCCEEDED"
    assert await instance_auths_of_runtime(world) == []
    assert await events(settings) == []


async def test_input_params_must_satisfy_the_bundle_schema(proxy, settings):
    world = await parties(proxy, {"instanceAuthRequestInputSchema": json.dumps(PARAMS_SCHEMA)})
    for params, expected in [
        ({"namespace": 7}, "namespace"),
        ({"other": "x"}, "'namespace' is a required property"),
        (None, "inputParams are required"),
    ]:
        error = await failure(
            world.runtime, REQUEST, {"bundle": world.bundle_id, "in": request_input(params)}
        )
        assert error_code(error) == 22, error
        assert expected in error["message"], error
    error = await failure(
        world.runtime, REQUEST, {"bundle": world.bundle_id, "in": {"inputParams": "{nope"}}
    )
    assert error_code(error) == 22
    assert await instance_auths_of_runtime(world) == []
    assert await events(settings) == []


async def test_application_may_refuse(proxy):
    world = await parties(proxy)
    created = await request(world.runtime, world.bundle_id)
    status = {"condition": "FAILED", "message": "no quota left", "reason": "QuotaExceeded"}
    refused = (await world.app.data(SET, {"id": created["id"], "in": {"status": status}}))[
        "setBundleInstanceAuth"
    ]
    assert refused["status"]["condition"] == "FAILED"
    assert refused["status"]["message"] == "no quota left"
    assert refused["status"]["reason"] == "QuotaExceeded"
    assert refused["auth"] is None
    error = await failure(world.app, SET, {"id": created["id"], "in": {"auth": BASIC}})
    assert error_code(error) == 27, error
    # Nothing was issued, so giving it back deletes it at once.
    await world.runtime.data(REQUEST_DELETION, {"id": created["id"]})
    assert await instance_auths_of_runtime(world) == []


@pytest.mark.parametrize(
    "answer",
    [
        {},
        {"auth": BASIC, "status": {"condition": "FAILED", "message": "m", "reason": "r"}},
        {"status": {"condition": "SUCCEEDED", "message": "m", "reason": "r"}},
        {"status": {"condition": "FAILED", "message": " ", "reason": "r"}},
    ],
)
async def test_answers_of_the_wrong_shape_are_invalid(proxy, answer):
    world = await parties(proxy)
    created = await request(world.runtime, world.bundle_id)
    error = await failure(world.app, SET, {"id": created["id"], "in": answer})
    assert error_code(error) == 22, error
    [seen] = await instance_auths_of_runtime(world)
    assert seen["status"]["condition"] == "PENDING"


async def test_credentials_are_set_only_while_pending(proxy):
    world = await parties(proxy)
    created = await request(world.runtime, world.bundle_id)
    await world.app.data(SET, {"id": created["id"], "in": {"auth": BASIC}})
    other = {"credential": {"basic": {"username": "u2", "password": "p2"}}}
    error = await failure(world.app, SET, {"id": created["id"], "in": {"auth": other}})
    assert error_code(error) == 27, error
    assert "PENDING" in error["message"]
    [seen] = await instance_auths_of_runtime(world)
    assert seen["auth"]["credential"]["username"] == "rt-user"


# Giving credentials back


async def test_deletion_request_makes_issued_credentials_unused(proxy, settings):
    world = await parties(proxy)
    created = await request(world.runtime, world.bundle_id)
    await world.app.data(SET, {"id": created["id"], "in": {"auth": BASIC}})
    released = (await world.runtime.data(REQUEST_DELETION, {"id": created["id"]}))[
        "requestBundleInstanceAuthDeletion"
    ]
    assert released["status"]["condition"] == "UNUSED"
    assert released["status"]["reason"] == "PendingDeletion"
    requested, given_back = await events(settings)
    assert requested["type"] == "BUNDLE_INSTANCE_AUTH_REQUESTED"
    assert given_back["type"] == "BUNDLE_INSTANCE_AUTH_RELEASED"
    assert given_back["instanceAuthID"] == created["id"]
    assert given_back["runtime"]["id"] == world.runtime_id
    # Asking again changes nothing and tells nobody twice.
    again = await world.runtime.data(REQUEST_DELETION, {"id": created["id"]})
    assert again["requestBundleInstanceAuthDeletion"]["status"]["condition"] == "UNUSED"
    assert len(await events(settings)) == 2
    # The application revokes them and deletes the instance auth.
    deleted = (await world.app.data(DELETE, {"id": created["id"]}))["deleteBundleInstanceAuth"]
    assert deleted["status"]["condition"] == "UNUSED"
    assert deleted["auth"]["credential"]["password"] == "s3cret-Pa55"
    assert await instance_auths_of_runtime(world) == []


async def test_deletion_request_of_a_pending_request_withdraws_it(proxy, settings):
    world = await parties(proxy)
    created = await request(world.runtime, world.bundle_id)
    withdrawn = (await world.runtime.data(REQUEST_DELETION, {"id": created["id"]}))[
        "requestBundleInstanceAuthDeletion"
    ]
    assert withdrawn["id"] == created["id"]
    assert withdrawn["status"]["condition"] == "PENDING"
    assert await instance_auths_of_runtime(world) == []
    assert [e["type"] for e in await events(settings)] == [
        "BUNDLE_INSTANCE_AUTH_REQUESTED",
        "BUNDLE_INSTANCE_AUTH_RELEASED",
    ]
    error = await failure(world.app, SET, {"id": created["id"], "in": {"auth": BASIC}})
    assert error_code(error) == 20


async def test_application_deletes_an_instance_auth(proxy):
    world = await parties(proxy)
    created = await request(world.runtime, world.bundle_id)
    deleted = (await world.app.data(DELETE, {"id": created["id"]}))["deleteBundleInstanceAuth"]
    assert deleted["id"] == created["id"]
    assert deleted["status"]["condition"] == "PENDING"
    assert await instance_auths_of_runtime(world) == []
    error = await failure(world.app, DELETE, {"id": created["id"]})
    assert error_code(error) == 20


# Who may do and see what


async def test_runtime_of_another_scenario_cannot_ask_and_sees_nothing(proxy):
    world = await parties(proxy)
    mine = await request(world.runtime, world.bundle_id)
    _bank_id, bank = await paired_runtime(proxy, "bank-cluster", ["BANK"])
    error = await failure(bank, REQUEST, {"bundle": world.bundle_id, "in": {}})
    assert error_code(error) == 20, error
    assert "bundle" in error["message"]
    # As for a bundle that does not exist.
    missing = await failure(bank, REQUEST, {"bundle": "no-such-bundle", "in": {}})
    assert error_code(missing) == 20
    view = await bank.data(
        BUNDLE, {"app": world.app_id, "bundle": world.bundle_id, "auth": mine["id"]}
    )
    assert view["application"] is None


async def test_runtime_sees_and_releases_only_its_own(proxy):
    world = await parties(proxy)
    mine = await request(world.runtime, world.bundle_id)
    other_id, other = await paired_runtime(proxy, "neighbour", ["SHOP"])
    theirs = await request(other, world.bundle_id)
    assert theirs["runtimeID"] == other_id
    assert [a["id"] for a in await instance_auths_of_runtime(world)] == [mine["id"]]
    view = await bundle_view(world, theirs["id"], world.runtime)
    assert [a["id"] for a in view["instanceAuths"]] == [mine["id"]]
    assert view["instanceAuth"] is None
    error = await failure(world.runtime, REQUEST_DELETION, {"id": theirs["id"]})
    assert error_code(error) == 26, error
    # A runtime may not ask in another runtime's name either.
    variables = {"bundle": world.bundle_id, "in": {}, "runtime": other_id}
    error = await failure(world.runtime, REQUEST, variables)
    assert error_code(error) == 26, error
    own = {"bundle": world.bundle_id, "in": {}, "runtime": world.runtime_id}
    assert (await world.runtime.data(REQUEST, own))["requestBundleInstanceAuthCreation"]
    everything = await bundle_view(world, theirs["id"])
    assert len(everything["instanceAuths"]) == 3


async def test_application_cannot_touch_instance_auths_of_another_application(proxy):
    world = await parties(proxy)
    created = await request(world.runtime, world.bundle_id)
    _intruder_id, intruder = await paired_application(proxy, "intruder")
    for query, variables in [
        (SET, {"id": created["id"], "in": {"auth": BASIC}}),
        (DELETE, {"id": created["id"]}),
    ]:
        error = await failure(intruder, query, variables)
        assert error_code(error) == 26, error
    [seen] = await instance_auths_of_runtime(world)
    assert seen["status"]["condition"] == "PENDING"


async def test_parties_cannot_act_for_each_other(proxy):
    world = await parties(proxy)
    created = await request(world.runtime, world.bundle_id)
    # Answering is the application's, asking the runtime's: the scopes say so.
    error = await failure(world.runtime, SET, {"id": created["id"], "in": {"auth": BASIC}})
    assert error_code(error) == 23
    error = await failure(world.runtime, DELETE, {"id": created["id"]})
    assert error_code(error) == 23
    error = await failure(world.app, REQUEST, {"bundle": world.bundle_id, "in": {}})
    assert error_code(error) == 23
    error = await failure(world.app, REQUEST_DELETION, {"id": created["id"]})
    assert error_code(error) == 23


async def test_another_tenant_sees_and_touches_nothing(proxy, settings):
    world = await parties(proxy)
    created = await request(world.runtime, world.bundle_id)
    await create_tenant(settings, "other", "other-tenant")
    foreign = Api(proxy.client, proxy.settings, token=proxy.mint(tenant="other-tenant"))
    view = await foreign.data(
        BUNDLE, {"app": world.app_id, "bundle": world.bundle_id, "auth": created["id"]}
    )
    assert view["application"] is None
    for query, variables in [
        (SET, {"id": created["id"], "in": {"auth": BASIC}}),
        (DELETE, {"id": created["id"]}),
        (REQUEST_DELETION, {"id": created["id"]}),
        (REQUEST, {"bundle": world.bundle_id, "in": {}, "runtime": world.runtime_id}),
    ]:
        error = await failure(foreign, query, variables)
        assert error_code(error) == 20, error
    [seen] = await instance_auths_of_runtime(world)
    assert seen["status"]["condition"] == "PENDING"


async def test_users_without_the_credentials_scope_see_no_credentials(proxy):
    world = await parties(proxy, {"defaultInstanceAuth": BASIC})
    created = await request(world.runtime, world.bundle_id)
    blind = Api(
        proxy.client,
        proxy.settings,
        token=proxy.mint(scopes=[s for s in ADMIN_SCOPES if s != SECRETS_SCOPE]),
    )
    view = await bundle_view(world, created["id"], blind)
    assert view["instanceAuth"]["status"]["condition"] == "SUCCEEDED"
    assert view["instanceAuth"]["auth"] is None
    assert [a["auth"] for a in view["instanceAuths"]] == [None]
    # Nor in the answer of a mutation they may run.
    deleted = (await blind.data(DELETE, {"id": created["id"]}))["deleteBundleInstanceAuth"]
    assert deleted["auth"] is None
    again = await request(world.runtime, world.bundle_id)
    seen = await bundle_view(world, again["id"])
    assert seen["instanceAuth"]["auth"]["credential"]["username"] == "rt-user"


# Administrators, runtime contexts, cascades


async def test_administrator_asks_in_the_name_of_a_runtime(proxy):
    world = await parties(proxy)
    error = await failure(proxy, REQUEST, {"bundle": world.bundle_id, "in": {}})
    assert error_code(error) == 22
    assert "runtimeID" in error["message"]
    error = await failure(
        proxy, REQUEST, {"bundle": world.bundle_id, "in": {}, "runtime": "no-such-runtime"}
    )
    assert error_code(error) == 20
    variables = {"bundle": world.bundle_id, "in": {}, "runtime": world.runtime_id}
    created = (await proxy.data(REQUEST, variables))["requestBundleInstanceAuthCreation"]
    assert created["runtimeID"] == world.runtime_id
    assert [a["id"] for a in await instance_auths_of_runtime(world)] == [created["id"]]


async def test_request_for_a_runtime_context(proxy):
    world = await parties(proxy)
    register = """mutation($rt: ID) { registerRuntimeContext(runtimeID: $rt,
        in: {key: "namespace", value: "prod"}) { id } }"""
    mine = (await world.runtime.data(register))["registerRuntimeContext"]["id"]
    other_runtime = await register_runtime(proxy, "other")
    theirs = (await proxy.data(register, {"rt": other_runtime}))["registerRuntimeContext"]["id"]
    variables = {"bundle": world.bundle_id, "in": {}, "context": mine}
    created = (await world.runtime.data(REQUEST, variables))["requestBundleInstanceAuthCreation"]
    assert created["runtimeContextID"] == mine
    error = await failure(world.runtime, REQUEST, {**variables, "context": theirs})
    assert error_code(error) == 20
    assert "runtime context" in error["message"]


async def test_deleting_the_bundle_or_the_runtime_deletes_its_instance_auths(proxy, settings):
    world = await parties(proxy)
    await request(world.runtime, world.bundle_id)
    other = await world.app.data(ADD_BUNDLE, {"app": world.app_id, "in": {"name": "more"}})
    other_bundle = other["addBundle"]["id"]
    await request(world.runtime, other_bundle)
    count = "SELECT count(*) FROM bundle_instance_auths"
    assert (await rows(settings, count))[0][0] == 2
    await world.app.data(
        "mutation($id: ID!) { deleteBundle(id: $id) { id } }", {"id": other_bundle}
    )
    assert (await rows(settings, count))[0][0] == 1
    await proxy.data(
        "mutation($id: ID!) { unregisterRuntime(id: $id) { id } }", {"id": world.runtime_id}
    )
    assert (await rows(settings, count))[0][0] == 0


# Loading


async def test_instance_auths_of_many_bundles_cost_the_same_statements(app, api):
    app_id = await register_application(api, "shop")
    runtime_id = await register_runtime(api, "cluster")
    query = """query($id: ID!) { application(id: $id) { bundles { data {
        instanceAuths { id auth { credential { ... on BasicCredentialData { username } } } }
    } } } }"""

    async def add_bundles(count: int) -> None:
        for i in range(count):
            bundle = {"name": f"b{i}", "defaultInstanceAuth": BASIC}
            added = await api.data(ADD_BUNDLE, {"app": app_id, "in": bundle})
            variables = {"bundle": added["addBundle"]["id"], "in": {}, "runtime": runtime_id}
            await api.data(REQUEST, variables)

    async def statements() -> tuple[int, list[Any]]:
        with counting_statements(app) as seen:
            data = await api.data(query, {"id": app_id})
        return len(seen), data["application"]["bundles"]["data"]

    await add_bundles(1)
    one, bundles = await statements()
    assert [len(b["instanceAuths"]) for b in bundles] == [1]
    await add_bundles(9)
    ten, bundles = await statements()
    assert [len(b["instanceAuths"]) for b in bundles] == [1] * 10
    assert all(b["instanceAuths"][0]["auth"]["credential"]["username"] for b in bundles)
    assert ten == one, f"1 bundle: {one} statements, 10 bundles: {ten}"
