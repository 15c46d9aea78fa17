import pytest

from compass.config import DEFAULT_TENANT_ID
from tests.api.tenancy import create_tenant

TENANTS = "{ tenants { id internalID name initialized } }"


async def test_tenants_lists_the_default_tenant(api):
    data = await api.data(TENANTS)
    assert data["tenants"] == [
        {
            "id": DEFAULT_TENANT_ID,
            "internalID": DEFAULT_TENANT_ID,
            "name": "default",
            "initialized": True,
        }
    ]


async def test_tenants_shows_external_id_as_id(api):
    created = await create_tenant(api.settings, "Acme Corp", "acme-external")
    data = await api.data(TENANTS)
    assert {
        "id": "acme-external",
        "internalID": created.id,
        "name": "Acme Corp",
        "initialized": True,
    } in data["tenants"]
    assert created.id != "acme-external"
    assert len(data["tenants"]) == 2


async def test_tenant_without_external_id_uses_internal_id(api):
    created = await create_tenant(api.settings, "plain")
    data = await api.data(TENANTS)
    listed = next(t for t in data["tenants"] if t["name"] == "plain")
    assert listed["id"] == listed["internalID"] == created.id


async def test_health_checks_is_an_empty_page(api):
    data = await api.data(
        "{ healthChecks { totalCount data { type } "
        "pageInfo { hasNextPage startCursor endCursor } } }"
    )
    assert data["healthChecks"] == {
        "totalCount": 0,
        "data": [],
        "pageInfo": {"hasNextPage": False, "startCursor": "", "endCursor": ""},
    }


async def test_health_checks_accepts_its_filters(api):
    data = await api.data(
        '{ healthChecks(types: [MANAGEMENT_PLANE_APPLICATION_HEALTHCHECK], origin: "x", '
        "first: 10) { totalCount } }"
    )
    assert data["healthChecks"]["totalCount"] == 0


@pytest.mark.parametrize("path", ["/graphql", "/director/graphql"])
async def test_graphql_is_served_at(api, path):
    await api.data('mutation { registerRuntime(in: {name: "rt"}) { id } }', path=path)
    data = await api.data("{ runtimes { data { name } } }", path=path)
    assert data["runtimes"]["data"] == [{"name": "rt"}]


async def test_both_paths_share_one_store(api):
    await api.data('mutation { registerRuntime(in: {name: "rt"}) { id } }', path="/graphql")
    data = await api.data("{ runtimes { totalCount } }", path="/director/graphql")
    assert data["runtimes"]["totalCount"] == 1


async def test_healthz_reports_ok(api):
    response = await api.client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["status"] == "ok"


async def test_readyz_reports_ok_with_reachable_database(api):
    response = await api.client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "reachable"}


async def test_graphiql_page_is_served_to_browsers(api):
    response = await api.client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()
