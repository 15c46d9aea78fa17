import json

import pytest

from tests.api.tenancy import create_tenant
from tests.conftest import error_code

FIELDS = "id name description applicationInput placeholders { name description } accessLevel"
CREATE = f"""mutation($in: ApplicationTemplateInput!) {{
    createApplicationTemplate(in: $in) {{ {FIELDS} }}
}}"""
UPDATE = f"""mutation($id: ID!, $in: ApplicationTemplateInput!) {{
    updateApplicationTemplate(id: $id, in: $in) {{ {FIELDS} }}
}}"""
DELETE = f"mutation($id: ID!) {{ deleteApplicationTemplate(id: $id) {{ {FIELDS} }} }}"
GET = f"query($id: ID!) {{ applicationTemplate(id: $id) {{ {FIELDS} }} }}"
LIST = f"""query($first: Int, $after: PageCursor) {{
    applicationTemplates(first: $first, after: $after) {{
        totalCount
        pageInfo {{ startCursor endCursor hasNextPage }}
        data {{ {FIELDS} }}
    }}
}}"""
APP_FIELDS = """id name description providerName healthCheckURL labels
    status { condition }
    webhooks { type url }
    bundles { totalCount data { name apiDefinitions { data { name targetURL } } } }"""
FROM_TEMPLATE = f"""mutation($in: ApplicationFromTemplateInput!) {{
    registerApplicationFromTemplate(in: $in) {{ {APP_FIELDS} }}
}}"""
GET_APP = f"query($id: ID!) {{ application(id: $id) {{ {APP_FIELDS} }} }}"
APPLICATIONS = "{ applications { totalCount data { id name } } }"
MISSING_ID = "7c1d4c5e-0000-4000-8000-000000000000"

SHOP_INPUT = {
    "name": "{{name}}",
    "description": "Shop of {{owner}}",
    "providerName": "ACME",
    "labels": {"owner": "{{owner}}", "tier": 1},
    "statusCondition": "CONNECTED",
}
SHOP_PLACEHOLDERS = [
    {"name": "name", "description": "the application's name"},
    {"name": "owner", "description": None},
]


def template_input(**fields):
    return {
        "name": "shop template",
        "description": "a shop",
        "applicationInput": SHOP_INPUT,
        "placeholders": SHOP_PLACEHOLDERS,
        "accessLevel": "GLOBAL",
        **fields,
    }


async def create(api, **fields):
    return (await api.data(CREATE, {"in": template_input(**fields)}))["createApplicationTemplate"]


async def count(api) -> int:
    return (await api.data(LIST))["applicationTemplates"]["totalCount"]


def values(**pairs):
    return [{"placeholder": key, "value": value} for key, value in pairs.items()]


async def from_template(api, template="shop template", token=None, **pairs):
    body = {"in": {"templateName": template, "values": values(**pairs)}}
    return (await api.data(FROM_TEMPLATE, body, token=token))["registerApplicationFromTemplate"]


# createApplicationTemplate / applicationTemplate


async def test_create_returns_the_template_and_it_reads_back(api):
    template = await create(api)
    assert template["name"] == "shop template"
    assert template["description"] == "a shop"
    assert template["accessLevel"] == "GLOBAL"
    assert template["placeholders"] == SHOP_PLACEHOLDERS
    assert json.loads(template["applicationInput"]) == SHOP_INPUT
    assert (await api.data(GET, {"id": template["id"]}))["applicationTemplate"] == template


async def test_application_input_keeps_graphql_field_names_of_nested_inputs(api):
    application_input = {
        "name": "{{name}}",
        "healthCheckURL": "https://{{host}}/health",
        "integrationSystemID": None,
        "webhooks": [{"type": "CONFIGURATION_CHANGED", "url": "https://{{host}}/hook"}],
        "bundles": [
            {
                "name": "orders",
                "apiDefinitions": [{"name": "orders api", "targetURL": "https://{{host}}/api"}],
            }
        ],
    }
    template = await create(
        api,
        applicationInput=application_input,
        placeholders=[{"name": "name"}, {"name": "host"}],
    )
    stored = json.loads(template["applicationInput"])
    assert stored == {
        "name": "{{name}}",
        "healthCheckURL": "https://{{host}}/health",
        "webhooks": [{"type": "CONFIGURATION_CHANGED", "url": "https://{{host}}/hook"}],
        "bundles": [
            {
                "name": "orders",
                "apiDefinitions": [{"name": "orders api", "targetURL": "https://{{host}}/api"}],
            }
        ],
    }


async def test_create_without_placeholders(api):
    template = await create(
        api, applicationInput={"name": "fixed"}, placeholders=None, description=None
    )
    assert template["placeholders"] == []
    assert template["description"] is None


@pytest.mark.parametrize("name", ["", "tab\tinside", "caf\u00e9", "x" * 101])
async def test_create_rejects_invalid_template_name(api, name):
    error = await api.error(CREATE, {"in": template_input(name=name)})
    assert error_code(error) == 22
    assert await count(api) == 0


async def test_create_accepts_printable_name_of_100_characters(api):
    name = "Shop ~ Template! " + "x" * 83
    assert (await create(api, name=name))["name"] == name


async def test_create_rejects_a_too_long_description(api):
    error = await api.error(CREATE, {"in": template_input(description="d" * 2001)})
    assert error_code(error) == 22


async def test_create_rejects_duplicate_placeholder_names(api):
    placeholders = [*SHOP_PLACEHOLDERS, {"name": "owner"}]
    error = await api.error(CREATE, {"in": template_input(placeholders=placeholders)})
    assert error_code(error) == 22
    assert "owner" in error["message"]
    assert await count(api) == 0


async def test_create_rejects_a_placeholder_the_input_does_not_use(api):
    placeholders = [*SHOP_PLACEHOLDERS, {"name": "region"}]
    error = await api.error(CREATE, {"in": template_input(placeholders=placeholders)})
    assert error_code(error) == 22
    assert "region" in error["message"]
    assert await count(api) == 0


@pytest.mark.parametrize("name", ["Bad", "has space", "1digit", "p" * 37])
async def test_create_rejects_invalid_placeholder_name(api, name):
    application_input = {"name": "app", "description": "{{" + name + "}}"}
    error = await api.error(
        CREATE,
        {"in": template_input(applicationInput=application_input, placeholders=[{"name": name}])},
    )
    assert error_code(error) == 22


async def test_create_rejects_a_too_long_placeholder_description(api):
    placeholders = [{"name": "name", "description": "d" * 2001}, {"name": "owner"}]
    error = await api.error(CREATE, {"in": template_input(placeholders=placeholders)})
    assert error_code(error) == 22


@pytest.mark.parametrize(
    "application_input",
    [
        {"name": "Not Valid"},
        {"name": "app", "healthCheckURL": "not a url"},
        {"name": "app", "providerName": "p" * 257},
        {"name": "app", "labels": {"bad key": 1}},
        {"name": "app", "webhooks": [{"type": "CONFIGURATION_CHANGED", "url": "ftp://x"}]},
    ],
)
async def test_create_rejects_an_application_input_that_could_not_register(api, application_input):
    error = await api.error(
        CREATE, {"in": template_input(applicationInput=application_input, placeholders=[])}
    )
    assert error_code(error) == 22
    assert await count(api) == 0


async def test_create_checks_the_name_only_when_it_has_no_placeholder(api):
    # "Upper {{name}}" would never be a valid application name, but it is only
    # checked once filled in.
    application_input = {"name": "Upper-{{name}}"}
    template = await create(
        api, applicationInput=application_input, placeholders=[{"name": "name"}]
    )
    error = await api.error(
        FROM_TEMPLATE,
        {"in": {"templateName": template["name"], "values": values(name="x")}},
    )
    assert error_code(error) == 22


async def test_create_duplicate_name_is_not_unique(api):
    await create(api)
    error = await api.error(CREATE, {"in": template_input()})
    assert error_code(error) == 21
    assert await count(api) == 1


async def test_missing_template_reads_as_null(api):
    assert (await api.data(GET, {"id": MISSING_ID}))["applicationTemplate"] is None


async def test_templates_are_global_and_need_no_tenant(api):
    data = await api.data(CREATE, {"in": template_input()}, token=api.mint(tenant=None))
    template = data["createApplicationTemplate"]
    tenant_b = await create_tenant(api.settings, "tenant-b")
    read = await api.data(GET, {"id": template["id"]}, token=api.mint(tenant=tenant_b.id))
    assert read["applicationTemplate"] == template


# updateApplicationTemplate / deleteApplicationTemplate


async def test_update_replaces_the_whole_template(api):
    template = await create(api)
    new_input = {"name": "{{app}}", "description": "renamed"}
    data = await api.data(
        UPDATE,
        {
            "id": template["id"],
            "in": {
                "name": "renamed template",
                "applicationInput": new_input,
                "placeholders": [{"name": "app", "description": "name"}],
                "accessLevel": "GLOBAL",
            },
        },
    )
    updated = data["updateApplicationTemplate"]
    assert updated["id"] == template["id"]
    assert updated["name"] == "renamed template"
    assert updated["description"] is None
    assert json.loads(updated["applicationInput"]) == new_input
    assert updated["placeholders"] == [{"name": "app", "description": "name"}]
    assert (await api.data(GET, {"id": template["id"]}))["applicationTemplate"] == updated
    app = await from_template(api, "renamed template", app="from-update")
    assert app["name"] == "from-update"
    assert app["description"] == "renamed"


async def test_update_may_keep_the_same_name(api):
    template = await create(api)
    data = await api.data(
        UPDATE, {"id": template["id"], "in": template_input(description="changed")}
    )
    assert data["updateApplicationTemplate"]["description"] == "changed"


async def test_update_to_a_taken_name_is_not_unique(api):
    await create(api, name="first")
    second = await create(api, name="second")
    error = await api.error(UPDATE, {"id": second["id"], "in": template_input(name="first")})
    assert error_code(error) == 21
    assert (await api.data(GET, {"id": second["id"]}))["applicationTemplate"] == second


async def test_invalid_update_changes_nothing(api):
    template = await create(api)
    placeholders = [*SHOP_PLACEHOLDERS, {"name": "unused"}]
    error = await api.error(
        UPDATE, {"id": template["id"], "in": template_input(placeholders=placeholders)}
    )
    assert error_code(error) == 22
    assert (await api.data(GET, {"id": template["id"]}))["applicationTemplate"] == template


async def test_update_of_a_missing_template_is_not_found(api):
    error = await api.error(UPDATE, {"id": MISSING_ID, "in": template_input()})
    assert error_code(error) == 20


async def test_delete_returns_and_removes_the_template(api):
    template = await create(api)
    data = await api.data(DELETE, {"id": template["id"]})
    assert data["deleteApplicationTemplate"] == template
    assert (await api.data(GET, {"id": template["id"]}))["applicationTemplate"] is None
    assert await count(api) == 0


async def test_delete_of_a_missing_template_is_not_found(api):
    error = await api.error(DELETE, {"id": MISSING_ID})
    assert error_code(error) == 20


async def test_applications_stay_when_their_template_is_deleted(api):
    template = await create(api)
    app = await from_template(api, name="shop", owner="team-a")
    await api.data(DELETE, {"id": template["id"]})
    assert (await api.data(GET_APP, {"id": app["id"]}))["application"] == app


# applicationTemplates pagination


async def test_pages_follow_creation_order_with_cursors(api):
    ids = [(await create(api, name=f"template {i}"))["id"] for i in range(5)]
    first = (await api.data(LIST, {"first": 3}))["applicationTemplates"]
    assert first["totalCount"] == 5
    assert [t["id"] for t in first["data"]] == ids[:3]
    assert first["pageInfo"]["hasNextPage"] is True
    second = (await api.data(LIST, {"first": 3, "after": first["pageInfo"]["endCursor"]}))[
        "applicationTemplates"
    ]
    assert [t["id"] for t in second["data"]] == ids[3:]
    assert second["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize("first", [-1, 201])
async def test_page_size_out_of_range_is_invalid_data(api, first):
    assert error_code(await api.error(LIST, {"first": first})) == 22


# registerApplicationFromTemplate


async def test_register_from_template_fills_in_the_placeholders(api):
    await create(api)
    app = await from_template(api, name="berlin-shop", owner="team-a")
    assert app["name"] == "berlin-shop"
    assert app["description"] == "Shop of team-a"
    assert app["providerName"] == "ACME"
    assert app["labels"] == {"owner": "team-a", "tier": 1, "scenarios": ["DEFAULT"]}
    assert app["status"] == {"condition": "CONNECTED"}
    assert (await api.data(GET_APP, {"id": app["id"]}))["application"] == app


@pytest.mark.parametrize(
    "owner",
    [
        'say "hi"',
        "back\\slash and \\\\ two",
        'C:\\path\\"quoted"\\',
        '", "providerName": "evil',
        "{{name}}",
        "line\nbreak \u00fc",
    ],
)
async def test_values_are_taken_literally(api, owner):
    await create(api)
    app = await from_template(api, name="shop", owner=owner)
    assert app["description"] == f"Shop of {owner}"
    assert app["labels"]["owner"] == owner
    assert app["providerName"] == "ACME"


async def test_register_from_template_builds_nested_webhooks_and_bundles(api):
    application_input = {
        "name": "{{name}}",
        "healthCheckURL": "https://{{host}}/health",
        "webhooks": [{"type": "CONFIGURATION_CHANGED", "url": "https://{{host}}/hook"}],
        "bundles": [
            {
                "name": "orders",
                "apiDefinitions": [{"name": "orders api", "targetURL": "https://{{host}}/api"}],
            }
        ],
    }
    await create(
        api, applicationInput=application_input, placeholders=[{"name": "name"}, {"name": "host"}]
    )
    app = await from_template(api, name="shop", host="shop.example.com")
    assert app["healthCheckURL"] == "https://shop.example.com/health"
    assert app["webhooks"] == [
        {"type": "CONFIGURATION_CHANGED", "url": "https://shop.example.com/hook"}
    ]
    assert app["bundles"]["totalCount"] == 1
    assert app["bundles"]["data"][0]["apiDefinitions"]["data"] == [
        {"name": "orders api", "targetURL": "https://shop.example.com/api"}
    ]


async def test_one_template_registers_several_applications(api):
    await create(api)
    first = await from_template(api, name="one", owner="a")
    second = await from_template(api, name="two", owner="b")
    listed = (await api.data(APPLICATIONS))["applications"]
    assert sorted(a["id"] for a in listed["data"]) == sorted([first["id"], second["id"]])


async def test_missing_placeholder_value_is_invalid_data(api):
    await create(api)
    error = await api.error(
        FROM_TEMPLATE, {"in": {"templateName": "shop template", "values": values(name="shop")}}
    )
    assert error_code(error) == 22
    assert "owner" in error["message"]
    assert (await api.data(APPLICATIONS))["applications"]["totalCount"] == 0


async def test_no_values_at_all_is_invalid_data(api):
    await create(api)
    error = await api.error(FROM_TEMPLATE, {"in": {"templateName": "shop template"}})
    assert error_code(error) == 22


async def test_unknown_placeholder_value_is_invalid_data(api):
    await create(api)
    body = {
        "in": {
            "templateName": "shop template",
            "values": values(name="shop", owner="a", region="eu"),
        }
    }
    error = await api.error(FROM_TEMPLATE, body)
    assert error_code(error) == 22
    assert "region" in error["message"]
    assert (await api.data(APPLICATIONS))["applications"]["totalCount"] == 0


async def test_two_values_for_one_placeholder_are_invalid_data(api):
    await create(api)
    twice = [*values(name="shop", owner="a"), {"placeholder": "owner", "value": "b"}]
    error = await api.error(
        FROM_TEMPLATE, {"in": {"templateName": "shop template", "values": twice}}
    )
    assert error_code(error) == 22


async def test_unknown_template_is_not_found(api):
    body = {"in": {"templateName": "no such template", "values": []}}
    assert error_code(await api.error(FROM_TEMPLATE, body)) == 20


@pytest.mark.parametrize("name", ["Upper", "has space", "x" * 37, ""])
async def test_the_filled_in_application_must_be_valid(api, name):
    await create(api)
    body = {"in": {"templateName": "shop template", "values": values(name=name, owner="a")}}
    assert error_code(await api.error(FROM_TEMPLATE, body)) == 22
    assert (await api.data(APPLICATIONS))["applications"]["totalCount"] == 0


async def test_registering_a_taken_name_is_not_unique(api):
    await create(api)
    await from_template(api, name="shop", owner="a")
    body = {"in": {"templateName": "shop template", "values": values(name="shop", owner="b")}}
    assert error_code(await api.error(FROM_TEMPLATE, body)) == 21


async def test_application_is_registered_in_the_callers_tenant(api):
    await create(api)
    tenant_b = await create_tenant(api.settings, "tenant-b")
    token_b = api.mint(tenant=tenant_b.id)
    app = await from_template(api, name="shop", owner="a")

    assert (await api.data(GET_APP, {"id": app["id"]}, token=token_b))["application"] is None
    assert (await api.data(APPLICATIONS, token=token_b))["applications"]["totalCount"] == 0

    app_b = await from_template(api, name="shop", owner="b", token=token_b)
    assert app_b["id"] != app["id"]
    listed_a = (await api.data(APPLICATIONS))["applications"]["data"]
    assert listed_a == [{"id": app["id"], "name": "shop"}]
    listed_b = (await api.data(APPLICATIONS, token=token_b))["applications"]["data"]
    assert listed_b == [{"id": app_b["id"], "name": "shop"}]


async def test_register_from_template_needs_a_tenant(api):
    await create(api)
    body = {"in": {"templateName": "shop template", "values": values(name="shop", owner="a")}}
    error = await api.error(FROM_TEMPLATE, body, token=api.mint(tenant=None))
    assert error_code(error) == 24


# scopes


@pytest.mark.parametrize(("query", "variables"), [(LIST, {}), (GET, {"id": MISSING_ID})])
async def test_reading_needs_application_template_read(api, query, variables):
    token = api.mint(scopes=["application_template:write", "application:read"])
    assert error_code(await api.error(query, variables, token=token)) == 23


async def test_writing_needs_application_template_write(api):
    template = await create(api)
    token = api.mint(scopes=["application_template:read", "application:write"])
    for query, variables in [
        (CREATE, {"in": template_input(name="other")}),
        (UPDATE, {"id": template["id"], "in": template_input(description="x")}),
        (DELETE, {"id": template["id"]}),
    ]:
        assert error_code(await api.error(query, variables, token=token)) == 23
    assert (await api.data(LIST))["applicationTemplates"]["data"] == [template]


async def test_register_from_template_needs_application_write(api):
    await create(api)
    token = api.mint(
        scopes=["application_template:read", "application_template:write", "application:read"]
    )
    body = {"in": {"templateName": "shop template", "values": values(name="shop", owner="a")}}
    assert error_code(await api.error(FROM_TEMPLATE, body, token=token)) == 23
    assert (await api.data(APPLICATIONS))["applications"]["totalCount"] == 0


async def test_the_required_scopes_are_enough(api):
    writer = api.mint(scopes=["application_template:write"])
    data = await api.data(CREATE, {"in": template_input()}, token=writer)
    template = data["createApplicationTemplate"]
    reader = api.mint(scopes=["application_template:read"])
    read = await api.data(GET, {"id": template["id"]}, token=reader)
    assert read["applicationTemplate"] == template
    app_writer = api.mint(scopes=["application:write"])
    body = {"in": {"templateName": "shop template", "values": values(name="shop", owner="a")}}
    data = await api.data(
        "mutation($in: ApplicationFromTemplateInput!) "
        "{ registerApplicationFromTemplate(in: $in) { name } }",
        body,
        token=app_writer,
    )
    assert data["registerApplicationFromTemplate"] == {"name": "shop"}
