import pytest

from tests.api.tenancy import create_tenant
from tests.conftest import error_code

FIELDS = "id name description"
REGISTER = f"""mutation($in: IntegrationSystemInput!) {{
    registerIntegrationSystem(in: $in) {{ {FIELDS} }}
}}"""
UPDATE = f"""mutation($id: ID!, $in: IntegrationSystemInput!) {{
    updateIntegrationSystem(id: $id, in: $in) {{ {FIELDS} }}
}}"""
UNREGISTER = f"mutation($id: ID!) {{ unregisterIntegrationSystem(id: $id) {{ {FIELDS} }} }}"
GET = f"query($id: ID!) {{ integrationSystem(id: $id) {{ {FIELDS} }} }}"
LIST = f"""query($first: Int, $after: PageCursor) {{
    integrationSystems(first: $first, after: $after) {{
        totalCount
        pageInfo {{ startCursor endCursor hasNextPage }}
        data {{ {FIELDS} }}
    }}
}}"""
REGISTER_APP = """mutation($in: ApplicationRegisterInput!) {
    registerApplication(in: $in) { id name integrationSystemID }
}"""
UPDATE_APP = """mutation($id: ID!, $in: ApplicationUpdateInput!) {
    updateApplication(id: $id, in: $in) { id integrationSystemID }
}"""
GET_APP = "query($id: ID!) { application(id: $id) { id name integrationSystemID } }"
MISSING_ID = "7c1d4c5e-0000-4000-8000-000000000000"


async def register(api, name="crm-sync", **fields):
    data = await api.data(REGISTER, {"in": {"name": name, **fields}})
    return data["registerIntegrationSystem"]


async def count(api) -> int:
    return (await api.data(LIST))["integrationSystems"]["totalCount"]


# registerIntegrationSystem / integrationSystem


async def test_register_returns_the_system_and_it_reads_back(api):
    system = await register(api, "crm-sync", description="syncs the CRM")
    assert system["name"] == "crm-sync"
    assert system["description"] == "syncs the CRM"
    assert (await api.data(GET, {"id": system["id"]}))["integrationSystem"] == system


async def test_register_without_description(api):
    system = await register(api, "bare")
    assert system["description"] is None


@pytest.mark.parametrize("name", ["", "Upper", "1digit", "has space", "x" * 37])
async def test_register_rejects_invalid_name(api, name):
    error = await api.error(REGISTER, {"in": {"name": name}})
    assert error_code(error) == 22
    assert await count(api) == 0


async def test_register_accepts_a_name_of_36_characters(api):
    assert (await register(api, "a" * 36))["name"] == "a" * 36


async def test_register_rejects_a_too_long_description(api):
    error = await api.error(REGISTER, {"in": {"name": "sys", "description": "d" * 2001}})
    assert error_code(error) == 22
    assert await count(api) == 0


async def test_register_accepts_a_description_of_2000_characters(api):
    assert (await register(api, description="d" * 2000))["description"] == "d" * 2000


async def test_register_duplicate_name_is_not_unique(api):
    await register(api, "twin")
    error = await api.error(REGISTER, {"in": {"name": "twin"}})
    assert error_code(error) == 21
    assert await count(api) == 1


async def test_missing_system_reads_as_null(api):
    assert (await api.data(GET, {"id": MISSING_ID}))["integrationSystem"] is None


async def test_systems_are_global_and_need_no_tenant(api):
    data = await api.data(REGISTER, {"in": {"name": "global"}}, token=api.mint(tenant=None))
    system = data["registerIntegrationSystem"]
    tenant_b = await create_tenant(api.settings, "tenant-b")
    token_b = api.mint(tenant=tenant_b.id)
    read = await api.data(GET, {"id": system["id"]}, token=token_b)
    assert read["integrationSystem"] == system
    listed = await api.data(LIST, token=api.mint(tenant=None))
    assert [s["id"] for s in listed["integrationSystems"]["data"]] == [system["id"]]


# updateIntegrationSystem


async def test_update_replaces_name_and_description(api):
    system = await register(api, "old", description="before")
    data = await api.data(UPDATE, {"id": system["id"], "in": {"name": "new"}})
    updated = data["updateIntegrationSystem"]
    assert updated == {"id": system["id"], "name": "new", "description": None}
    assert (await api.data(GET, {"id": system["id"]}))["integrationSystem"] == updated


async def test_update_may_keep_the_same_name(api):
    system = await register(api, "same")
    data = await api.data(
        UPDATE, {"id": system["id"], "in": {"name": "same", "description": "now"}}
    )
    assert data["updateIntegrationSystem"]["description"] == "now"


async def test_update_to_a_taken_name_is_not_unique(api):
    await register(api, "first")
    second = await register(api, "second")
    error = await api.error(UPDATE, {"id": second["id"], "in": {"name": "first"}})
    assert error_code(error) == 21
    assert (await api.data(GET, {"id": second["id"]}))["integrationSystem"]["name"] == "second"


async def test_update_with_invalid_name_changes_nothing(api):
    system = await register(api, "kept")
    error = await api.error(UPDATE, {"id": system["id"], "in": {"name": "Not Valid"}})
    assert error_code(error) == 22
    assert (await api.data(GET, {"id": system["id"]}))["integrationSystem"] == system


async def test_update_of_a_missing_system_is_not_found(api):
    error = await api.error(UPDATE, {"id": MISSING_ID, "in": {"name": "x"}})
    assert error_code(error) == 20


# unregisterIntegrationSystem


async def test_unregister_returns_and_removes_the_system(api):
    system = await register(api, "gone", description="bye")
    data = await api.data(UNREGISTER, {"id": system["id"]})
    assert data["unregisterIntegrationSystem"] == system
    assert (await api.data(GET, {"id": system["id"]}))["integrationSystem"] is None
    assert await count(api) == 0


async def test_unregister_of_a_missing_system_is_not_found(api):
    error = await api.error(UNREGISTER, {"id": MISSING_ID})
    assert error_code(error) == 20


async def test_name_is_free_again_after_unregister(api):
    system = await register(api, "reused")
    await api.data(UNREGISTER, {"id": system["id"]})
    assert (await register(api, "reused"))["name"] == "reused"


# integrationSystems pagination


async def test_pages_follow_creation_order_with_cursors(api):
    ids = [(await register(api, f"sys-{i}"))["id"] for i in range(5)]
    first = (await api.data(LIST, {"first": 2}))["integrationSystems"]
    assert first["totalCount"] == 5
    assert [s["id"] for s in first["data"]] == ids[:2]
    assert first["pageInfo"]["hasNextPage"] is True
    second = (await api.data(LIST, {"first": 2, "after": first["pageInfo"]["endCursor"]}))[
        "integrationSystems"
    ]
    assert [s["id"] for s in second["data"]] == ids[2:4]
    third = (await api.data(LIST, {"first": 2, "after": second["pageInfo"]["endCursor"]}))[
        "integrationSystems"
    ]
    assert [s["id"] for s in third["data"]] == ids[4:]
    assert third["pageInfo"]["hasNextPage"] is False


async def test_empty_list(api):
    page = (await api.data(LIST))["integrationSystems"]
    assert page["totalCount"] == 0
    assert page["data"] == []
    assert page["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize("first", [-1, 201])
async def test_page_size_out_of_range_is_invalid_data(api, first):
    assert error_code(await api.error(LIST, {"first": first})) == 22


async def test_invalid_cursor_is_invalid_data(api):
    assert error_code(await api.error(LIST, {"after": "not a cursor!"})) == 22


# scopes


@pytest.mark.parametrize(
    ("query", "variables"),
    [(LIST, {}), (GET, {"id": MISSING_ID})],
)
async def test_reading_needs_integration_system_read(api, query, variables):
    token = api.mint(scopes=["integration_system:write", "application:read"])
    error = await api.error(query, variables, token=token)
    assert error_code(error) == 23


async def test_writing_needs_integration_system_write(api):
    system = await register(api, "guarded")
    token = api.mint(scopes=["integration_system:read", "application:write"])
    for query, variables in [
        (REGISTER, {"in": {"name": "other"}}),
        (UPDATE, {"id": system["id"], "in": {"name": "renamed"}}),
        (UNREGISTER, {"id": system["id"]}),
    ]:
        assert error_code(await api.error(query, variables, token=token)) == 23
    assert (await api.data(LIST))["integrationSystems"]["data"] == [system]


async def test_the_required_scopes_are_enough(api):
    writer = api.mint(scopes=["integration_system:write"])
    reader = api.mint(scopes=["integration_system:read"])
    system = (await api.data(REGISTER, {"in": {"name": "scoped"}}, token=writer))[
        "registerIntegrationSystem"
    ]
    assert (await api.data(GET, {"id": system["id"]}, token=reader))["integrationSystem"] == system


# applications referring to integration systems


async def test_application_may_refer_to_an_existing_system(api):
    system = await register(api, "manager")
    data = await api.data(
        REGISTER_APP, {"in": {"name": "shop", "integrationSystemID": system["id"]}}
    )
    app = data["registerApplication"]
    assert app["integrationSystemID"] == system["id"]
    assert (await api.data(GET_APP, {"id": app["id"]}))["application"] == app


async def test_application_referring_to_a_missing_system_is_not_found(api):
    error = await api.error(
        REGISTER_APP, {"in": {"name": "shop", "integrationSystemID": MISSING_ID}}
    )
    assert error_code(error) == 20
    assert (await api.data("{ applications { totalCount } }"))["applications"]["totalCount"] == 0


async def test_update_application_to_refer_to_a_system(api):
    system = await register(api, "manager")
    app = (await api.data(REGISTER_APP, {"in": {"name": "shop"}}))["registerApplication"]
    data = await api.data(
        UPDATE_APP, {"id": app["id"], "in": {"integrationSystemID": system["id"]}}
    )
    assert data["updateApplication"]["integrationSystemID"] == system["id"]


async def test_update_application_to_a_missing_system_is_not_found(api):
    system = await register(api, "manager")
    app = (
        await api.data(REGISTER_APP, {"in": {"name": "shop", "integrationSystemID": system["id"]}})
    )["registerApplication"]
    error = await api.error(
        UPDATE_APP, {"id": app["id"], "in": {"integrationSystemID": MISSING_ID}}
    )
    assert error_code(error) == 20
    read = await api.data(GET_APP, {"id": app["id"]})
    assert read["application"]["integrationSystemID"] == system["id"]


async def test_unregister_of_a_system_applications_refer_to_is_refused(api):
    """Upstream: InvalidOperation while any tenant's application refers to it."""
    system = await register(api, "manager")
    tenant_b = await create_tenant(api.settings, "tenant-b")
    token_b = api.mint(tenant=tenant_b.id)
    app_b = (
        await api.data(
            REGISTER_APP,
            {"in": {"name": "shop", "integrationSystemID": system["id"]}},
            token=token_b,
        )
    )["registerApplication"]

    error = await api.error(UNREGISTER, {"id": system["id"]})
    assert error_code(error) == 27
    assert "another record refers to it" in error["message"]
    assert (await api.data(GET, {"id": system["id"]}))["integrationSystem"] == system
    read_b = await api.data(GET_APP, {"id": app_b["id"]}, token=token_b)
    assert read_b["application"] == app_b

    await api.data(
        UPDATE_APP, {"id": app_b["id"], "in": {"integrationSystemID": None}}, token=token_b
    )
    assert (await api.data(UNREGISTER, {"id": system["id"]}))[
        "unregisterIntegrationSystem"
    ] == system
