import json

from compass.domain.label.scenarios import scenarios_schema
from tests.api.tenancy import create_tenant
from tests.api.test_query_count import counting_statements
from tests.conftest import error_code

MISSING_ID = "7c1d4c5e-0000-4000-8000-000000000000"
APP_EVENTING = "query($id: ID!) { application(id: $id) { eventingConfiguration { defaultURL } } }"
RUNTIME_EVENTING = "query($id: ID!) { runtime(id: $id) { eventingConfiguration { defaultURL } } }"
SET_DEFAULT = """mutation($app: String!, $rt: String!) {
    setDefaultEventingForApplication(appID: $app, runtimeID: $rt) { defaultURL }
}"""
DELETE_DEFAULT = """mutation($app: String!) {
    deleteDefaultEventingForApplication(appID: $app) { defaultURL }
}"""
URL_KEY = "runtime_eventServiceUrl"


async def register_application(api, name="shop", scenarios=None, **kw):
    labels = {} if scenarios is None else {"scenarios": scenarios}
    data = await api.data(
        "mutation($in: ApplicationRegisterInput!) { registerApplication(in: $in) { id } }",
        {"in": {"name": name, "labels": labels}},
        **kw,
    )
    return data["registerApplication"]["id"]


async def register_runtime(api, name, url=None, scenarios=("DEFAULT",), **kw):
    labels = {"scenarios": list(scenarios)} if scenarios else {}
    if url is not None:
        labels[URL_KEY] = url
    data = await api.data(
        "mutation($in: RuntimeInput!) { registerRuntime(in: $in) { id } }",
        {"in": {"name": name, "labels": labels}},
        **kw,
    )
    return data["registerRuntime"]["id"]


async def app_url(api, app_id, **kw):
    data = await api.data(APP_EVENTING, {"id": app_id}, **kw)
    return data["application"]["eventingConfiguration"]["defaultURL"]


async def runtime_url(api, runtime_id, **kw):
    data = await api.data(RUNTIME_EVENTING, {"id": runtime_id}, **kw)
    return data["runtime"]["eventingConfiguration"]["defaultURL"]


async def test_default_url_is_empty_without_a_labelled_runtime(api):
    app = await register_application(api)
    assert await app_url(api, app) == ""
    runtime = await register_runtime(api, "plain")
    assert await app_url(api, app) == ""
    assert await runtime_url(api, runtime) == ""


async def test_default_url_comes_from_the_oldest_labelled_runtime_of_its_scenarios(api):
    schema = json.dumps(scenarios_schema(["DEFAULT", "OTHER"]))
    await api.data(
        'mutation($s: JSONSchema) { updateLabelDefinition(in: {key: "scenarios", schema: $s}) '
        "{ key } }",
        {"s": schema},
    )
    app = await register_application(api)
    await register_runtime(api, "unlabelled")
    await register_runtime(api, "elsewhere", "https://other.example", scenarios=["OTHER"])
    first = await register_runtime(api, "first", "https://gw.one.example:8443/some/path?x=1")
    await register_runtime(api, "second", "https://gw.two.example")
    assert await app_url(api, app) == "https://gw.one.example:8443/shop/v1/events"
    # Upstream: the runtime's URL is its label value as it is, path and query kept.
    assert await runtime_url(api, first) == "https://gw.one.example:8443/some/path?x=1"


async def test_explicit_choice_wins_and_delete_falls_back(api):
    app = await register_application(api)
    await register_runtime(api, "first", "https://gw.one.example")
    second = await register_runtime(api, "second", "http://gw.two.example:8080/")
    data = await api.data(SET_DEFAULT, {"app": app, "rt": second})
    expected = "http://gw.two.example:8080/shop/v1/events"
    assert data["setDefaultEventingForApplication"]["defaultURL"] == expected
    assert await app_url(api, app) == expected

    data = await api.data(DELETE_DEFAULT, {"app": app})
    assert data["deleteDefaultEventingForApplication"]["defaultURL"] == expected
    assert await app_url(api, app) == "https://gw.one.example/shop/v1/events"
    data = await api.data(DELETE_DEFAULT, {"app": app})
    assert data["deleteDefaultEventingForApplication"]["defaultURL"] == ""


async def test_explicit_choice_is_dropped_when_it_leaves_the_scenario(api):
    app = await register_application(api)
    await register_runtime(api, "first", "https://gw.one.example")
    second = await register_runtime(api, "second", "https://gw.two.example")
    await api.data(SET_DEFAULT, {"app": app, "rt": second})
    await api.data(
        'mutation($id: ID!) { deleteRuntimeLabel(runtimeID: $id, key: "scenarios") { key } }',
        {"id": second},
    )
    assert await app_url(api, app) == "https://gw.one.example/shop/v1/events"


async def test_runtime_label_changes_are_seen(api):
    app = await register_application(api)
    runtime = await register_runtime(api, "rt")
    await api.data(
        "mutation($id: ID!, $v: Any!) { setRuntimeLabel(runtimeID: $id, "
        f'key: "{URL_KEY}", value: $v) {{ key }} }}',
        {"id": runtime, "v": "https://late.example/events"},
    )
    assert await runtime_url(api, runtime) == "https://late.example/events"
    assert await app_url(api, app) == "https://late.example/shop/v1/events"


async def test_set_default_requires_a_shared_scenario(api):
    app = await register_application(api, scenarios=["DEFAULT"])
    runtime = await register_runtime(api, "loner", "https://gw.example")
    await api.data(
        'mutation($id: ID!) { deleteRuntimeLabel(runtimeID: $id, key: "scenarios") { key } }',
        {"id": runtime},
    )
    error = await api.error(SET_DEFAULT, {"app": app, "rt": runtime})
    assert error_code(error) == 22
    assert await app_url(api, app) == ""


async def test_set_and_delete_default_of_missing_objects_are_not_found(api):
    app = await register_application(api)
    runtime = await register_runtime(api, "rt", "https://gw.example")
    for variables in ({"app": MISSING_ID, "rt": runtime}, {"app": app, "rt": MISSING_ID}):
        error = await api.error(SET_DEFAULT, variables)
        assert error_code(error) == 20
    error = await api.error(DELETE_DEFAULT, {"app": MISSING_ID})
    assert error_code(error) == 20


async def test_eventing_mutations_need_eventing_manage(api):
    app = await register_application(api)
    runtime = await register_runtime(api, "rt", "https://gw.example")
    token = api.mint(scopes=["application:write", "application:read", "runtime:write"])
    error = await api.error(SET_DEFAULT, {"app": app, "rt": runtime}, token=token)
    assert error_code(error) == 23
    error = await api.error(DELETE_DEFAULT, {"app": app}, token=token)
    assert error_code(error) == 23
    manager = api.mint(scopes=["eventing:manage"])
    data = await api.data(SET_DEFAULT, {"app": app, "rt": runtime}, token=manager)
    assert data["setDefaultEventingForApplication"]["defaultURL"] == (
        "https://gw.example/shop/v1/events"
    )


async def test_eventing_is_per_tenant(api):
    app = await register_application(api)
    runtime = await register_runtime(api, "rt", "https://gw.a.example")
    tenant_b = await create_tenant(api.settings, "tenant-b")
    token_b = api.mint(tenant=tenant_b.id)
    error = await api.error(SET_DEFAULT, {"app": app, "rt": runtime}, token=token_b)
    assert error_code(error) == 20
    app_b = await register_application(api, "shop-b", token=token_b)
    assert await app_url(api, app_b, token=token_b) == ""
    error = await api.error(SET_DEFAULT, {"app": app_b, "rt": runtime}, token=token_b)
    assert error_code(error) == 20
    assert await app_url(api, app) == "https://gw.a.example/shop/v1/events"


async def _count(app, run):
    with counting_statements(app) as statements:
        result = await run()
    return len(statements), result


async def test_eventing_pages_cost_the_same_for_any_size(app, api):
    query = """{
        applications { data { name eventingConfiguration { defaultURL } } }
        runtimes { data { name eventingConfiguration { defaultURL } } }
    }"""
    await register_runtime(api, "rt-0", "https://gw-0.example")
    await register_application(api, "app-0")
    one, data = await _count(app, lambda: api.data(query))
    assert data["applications"]["data"] == [
        {
            "name": "app-0",
            "eventingConfiguration": {"defaultURL": "https://gw-0.example/app-0/v1/events"},
        }
    ]
    for i in range(1, 12):
        await register_runtime(api, f"rt-{i}", f"https://gw-{i}.example")
        await register_application(api, f"app-{i}")
    await api.data(
        SET_DEFAULT,
        {
            "app": await register_application(api, "app-x"),
            "rt": (await register_runtime(api, "rt-x", "https://gw-x.example")),
        },
    )
    many, data = await _count(app, lambda: api.data(query))
    urls = {
        a["name"]: a["eventingConfiguration"]["defaultURL"] for a in data["applications"]["data"]
    }
    assert len(urls) == 13
    assert urls["app-5"] == "https://gw-0.example/app-5/v1/events"
    assert urls["app-x"] == "https://gw-x.example/app-x/v1/events"
    runtime_urls = [r["eventingConfiguration"]["defaultURL"] for r in data["runtimes"]["data"]]
    assert runtime_urls[:3] == [
        "https://gw-0.example",
        "https://gw-1.example",
        "https://gw-2.example",
    ]
    assert many == one, f"1 of each: {one} statements, 13 of each: {many}"
