import json

import pytest

from compass.domain.label.scenarios import scenarios_schema
from tests.api.tenancy import create_tenant
from tests.conftest import error_code

ASSIGNMENT = "scenarioName selector { key value }"
CREATE = f"""mutation($in: AutomaticScenarioAssignmentSetInput!) {{
    createAutomaticScenarioAssignment(in: $in) {{ {ASSIGNMENT} }}
}}"""
DELETE_FOR_SCENARIO = f"""mutation($s: String!) {{
    deleteAutomaticScenarioAssignmentForScenario(scenarioName: $s) {{ {ASSIGNMENT} }}
}}"""
DELETE_FOR_SELECTOR = f"""mutation($sel: LabelSelectorInput!) {{
    deleteAutomaticScenarioAssignmentsForSelector(selector: $sel) {{ {ASSIGNMENT} }}
}}"""
PAGE = f"""query($first: Int, $after: PageCursor) {{
    automaticScenarioAssignments(first: $first, after: $after) {{
        totalCount pageInfo {{ endCursor hasNextPage }} data {{ {ASSIGNMENT} }}
    }}
}}"""
FOR_SCENARIO = f"""query($s: String!) {{
    automaticScenarioAssignmentForScenario(scenarioName: $s) {{ {ASSIGNMENT} }}
}}"""
FOR_SELECTOR = f"""query($sel: LabelSelectorInput!) {{
    automaticScenarioAssignmentsForSelector(selector: $sel) {{ {ASSIGNMENT} }}
}}"""
REGISTER_RUNTIME = "mutation($in: RuntimeInput!) { registerRuntime(in: $in) { id } }"
RUNTIME_SCENARIOS = 'query($id: ID!) { runtime(id: $id) { labels(key: "scenarios") } }'
UPDATE_DEFINITION = """mutation($s: JSONSchema) {
    updateLabelDefinition(in: {key: "scenarios", schema: $s}) { key }
}"""
APPS_FOR_RUNTIME = """query($id: ID!) {
    applicationsForRuntime(runtimeID: $id) { totalCount data { name } }
}"""
EU = {"key": "region", "value": "eu"}


async def define_scenarios(api, *names, **kw):
    schema = json.dumps(scenarios_schema(["DEFAULT", *names]))
    await api.data(UPDATE_DEFINITION, {"s": schema}, **kw)


async def create(api, scenario="FOO", selector=EU, **kw):
    data = await api.data(CREATE, {"in": {"scenarioName": scenario, "selector": selector}}, **kw)
    return data["createAutomaticScenarioAssignment"]


async def register_runtime(api, name, labels=None, **kw):
    data = await api.data(REGISTER_RUNTIME, {"in": {"name": name, "labels": labels}}, **kw)
    return data["registerRuntime"]["id"]


async def scenarios_of(api, runtime_id, **kw):
    data = await api.data(RUNTIME_SCENARIOS, {"id": runtime_id}, **kw)
    return data["runtime"]["labels"].get("scenarios")


@pytest.fixture
async def scenarios(api):
    await define_scenarios(api, "FOO", "BAR")


async def test_create_returns_assignment_with_selector_as_label(api, scenarios):
    assignment = await create(api)
    assert assignment == {"scenarioName": "FOO", "selector": {"key": "region", "value": "eu"}}
    data = await api.data(FOR_SCENARIO, {"s": "FOO"})
    assert data["automaticScenarioAssignmentForScenario"] == assignment


async def test_create_adds_scenario_to_matching_existing_runtimes(api, scenarios):
    with_default = await register_runtime(api, "eu-1", {"region": "eu", "scenarios": ["DEFAULT"]})
    without = await register_runtime(api, "eu-2", {"region": "eu"})
    already = await register_runtime(api, "eu-3", {"region": "eu", "scenarios": ["FOO"]})
    other = await register_runtime(api, "us-1", {"region": "us"})
    not_string = await register_runtime(api, "odd", {"region": ["eu"]})
    await create(api)
    assert await scenarios_of(api, with_default) == ["DEFAULT", "FOO"]
    assert await scenarios_of(api, without) == ["DEFAULT", "FOO"]
    assert await scenarios_of(api, already) == ["FOO"]
    assert await scenarios_of(api, other) == ["DEFAULT"]
    assert await scenarios_of(api, not_string) == ["DEFAULT"]


async def test_create_for_undefined_scenario_is_invalid(api, scenarios):
    runtime = await register_runtime(api, "eu-1", {"region": "eu"})
    error = await api.error(CREATE, {"in": {"scenarioName": "NOPE", "selector": EU}})
    assert error_code(error) == 22
    assert "NOPE" in error["message"]
    assert await scenarios_of(api, runtime) == ["DEFAULT"]
    data = await api.data(PAGE)
    assert data["automaticScenarioAssignments"]["totalCount"] == 0


@pytest.mark.parametrize(
    "assignment",
    [
        {"scenarioName": "FOO", "selector": {"key": "bad key", "value": "eu"}},
        {"scenarioName": "FOO", "selector": {"key": "", "value": "eu"}},
        {"scenarioName": "", "selector": EU},
    ],
)
async def test_create_rejects_invalid_input(api, scenarios, assignment):
    error = await api.error(CREATE, {"in": assignment})
    assert error_code(error) == 22


async def test_second_assignment_for_a_scenario_is_an_invalid_operation(api, scenarios):
    """Upstream: InvalidOperation, "a given scenario already has an assignment"."""
    await create(api)
    error = await api.error(
        CREATE, {"in": {"scenarioName": "FOO", "selector": {"key": "env", "value": "prod"}}}
    )
    assert error_code(error) == 27
    assert "a given scenario already has an assignment" in error["message"]
    data = await api.data(FOR_SCENARIO, {"s": "FOO"})
    assert data["automaticScenarioAssignmentForScenario"]["selector"] == EU


async def test_runtime_registered_after_assignment_joins_scenario_until_deleted(api, scenarios):
    await api.data(
        'mutation { registerApplication(in: {name: "in-foo", labels: {scenarios: ["FOO"]}}) '
        "{ id } }"
    )
    await api.data(
        'mutation { registerApplication(in: {name: "in-bar", '
        'labels: {scenarios: ["BAR"]}}) { id } }'
    )
    await create(api)
    runtime = await register_runtime(api, "late", {"region": "eu"})
    assert await scenarios_of(api, runtime) == ["DEFAULT", "FOO"]
    data = await api.data(APPS_FOR_RUNTIME, {"id": runtime})
    assert data["applicationsForRuntime"]["data"] == [{"name": "in-foo"}]

    deleted = await api.data(DELETE_FOR_SCENARIO, {"s": "FOO"})
    assert deleted["deleteAutomaticScenarioAssignmentForScenario"]["scenarioName"] == "FOO"
    assert await scenarios_of(api, runtime) == ["DEFAULT"]
    data = await api.data(APPS_FOR_RUNTIME, {"id": runtime})
    assert data["applicationsForRuntime"]["totalCount"] == 0
    data = await api.data(FOR_SCENARIO, {"s": "FOO"})
    assert data["automaticScenarioAssignmentForScenario"] is None


async def test_runtime_registered_with_own_scenarios_keeps_them(api, scenarios):
    await create(api)
    runtime = await register_runtime(api, "late", {"region": "eu", "scenarios": ["BAR"]})
    assert await scenarios_of(api, runtime) == ["BAR", "FOO"]
    await api.data(DELETE_FOR_SCENARIO, {"s": "FOO"})
    assert await scenarios_of(api, runtime) == ["BAR"]


async def test_set_runtime_label_applies_assignment(api, scenarios):
    await create(api)
    runtime = await register_runtime(api, "rt", {"region": "us"})
    assert await scenarios_of(api, runtime) == ["DEFAULT"]
    await api.data(
        'mutation($id: ID!) { setRuntimeLabel(runtimeID: $id, key: "region", value: "eu") '
        "{ key } }",
        {"id": runtime},
    )
    assert await scenarios_of(api, runtime) == ["DEFAULT", "FOO"]


async def test_update_runtime_applies_assignment(api, scenarios):
    await create(api)
    runtime = await register_runtime(api, "rt", {"scenarios": ["DEFAULT"]})
    await api.data(
        "mutation($id: ID!, $in: RuntimeInput!) { updateRuntime(id: $id, in: $in) { id } }",
        {"id": runtime, "in": {"name": "rt", "labels": {"region": "eu"}}},
    )
    assert await scenarios_of(api, runtime) == ["DEFAULT", "FOO"]


async def test_setting_scenarios_label_keeps_assigned_scenario(api, scenarios):
    await create(api)
    runtime = await register_runtime(api, "rt", {"region": "eu"})
    data = await api.data(
        'mutation($id: ID!) { setRuntimeLabel(runtimeID: $id, key: "scenarios", '
        'value: ["BAR"]) { key value } }',
        {"id": runtime},
    )
    assert data["setRuntimeLabel"]["value"] == ["BAR", "FOO"]
    assert await scenarios_of(api, runtime) == ["BAR", "FOO"]


SET_LABEL = """mutation($id: ID!, $key: String!, $value: Any!) {
    setRuntimeLabel(runtimeID: $id, key: $key, value: $value) { key value } }"""
DELETE_LABEL = """mutation($id: ID!, $key: String!) {
    deleteRuntimeLabel(runtimeID: $id, key: $key) { key } }"""
UPDATE_RUNTIME = (
    """mutation($id: ID!, $in: RuntimeInput!) { updateRuntime(id: $id, in: $in) { id } }"""
)


async def test_assigned_scenario_follows_the_selector(api, scenarios):
    """Upstream: the scenario an assignment added goes when the label stops matching,
    and comes back when it matches again."""
    await create(api)
    runtime = await register_runtime(api, "rt", {"region": "eu"})
    assert await scenarios_of(api, runtime) == ["DEFAULT", "FOO"]
    await api.data(SET_LABEL, {"id": runtime, "key": "region", "value": "us"})
    assert await scenarios_of(api, runtime) == ["DEFAULT"]
    await api.data(SET_LABEL, {"id": runtime, "key": "region", "value": "eu"})
    assert await scenarios_of(api, runtime) == ["DEFAULT", "FOO"]
    await api.data(DELETE_LABEL, {"id": runtime, "key": "region"})
    assert await scenarios_of(api, runtime) == ["DEFAULT"]
    await api.data(UPDATE_RUNTIME, {"id": runtime, "in": {"name": "rt", "labels": EU_LABELS}})
    assert await scenarios_of(api, runtime) == ["DEFAULT", "FOO"]
    await api.data(UPDATE_RUNTIME, {"id": runtime, "in": {"name": "rt", "labels": {"x": "y"}}})
    assert await scenarios_of(api, runtime) == ["DEFAULT"]


EU_LABELS = {"region": "eu"}


async def test_only_the_assigned_scenario_goes_and_the_label_may_go_with_it(api, scenarios):
    await create(api)
    runtime = await register_runtime(api, "rt", {"region": "eu", "scenarios": ["BAR"]})
    other = await register_runtime(api, "solo", {"region": "eu"})
    await api.data(DELETE_LABEL, {"id": other, "key": "scenarios"})
    assert await scenarios_of(api, other) == ["FOO"]
    await api.data(SET_LABEL, {"id": runtime, "key": "region", "value": "us"})
    await api.data(SET_LABEL, {"id": other, "key": "region", "value": "us"})
    assert await scenarios_of(api, runtime) == ["BAR"]
    assert await scenarios_of(api, other) is None


async def test_scenario_set_by_hand_stays_when_the_selector_stops_matching(api, scenarios):
    await create(api)
    before = await register_runtime(api, "before", {"region": "us", "scenarios": ["FOO"]})
    await api.data(SET_LABEL, {"id": before, "key": "region", "value": "eu"})
    granted = await register_runtime(api, "granted", {"region": "eu"})
    # Written by hand while granted: the runtime's own from now on.
    await api.data(SET_LABEL, {"id": granted, "key": "scenarios", "value": ["FOO", "DEFAULT"]})
    for runtime in (before, granted):
        await api.data(SET_LABEL, {"id": runtime, "key": "region", "value": "us"})
    assert await scenarios_of(api, before) == ["FOO"]
    assert await scenarios_of(api, granted) == ["FOO", "DEFAULT"]
    await api.data(DELETE_FOR_SCENARIO, {"s": "FOO"})
    assert await scenarios_of(api, before) == ["FOO"]
    assert await scenarios_of(api, granted) == ["FOO", "DEFAULT"]


async def test_deleting_the_selector_label_definition_takes_the_scenario_away(api, scenarios):
    await create(api)
    runtime = await register_runtime(api, "rt", {"region": "eu"})
    await api.data(
        'mutation { deleteLabelDefinition(key: "region", deleteRelatedLabels: true) { key } }'
    )
    assert await scenarios_of(api, runtime) == ["DEFAULT"]


async def test_deleting_an_assignment_removes_exactly_what_it_granted(api, scenarios):
    await create(api)
    granted = await register_runtime(api, "granted", {"region": "eu"})
    by_hand = await register_runtime(api, "by-hand", {"region": "eu", "scenarios": ["FOO"]})
    # Matched once, no longer: its FOO already went.
    moved = await register_runtime(api, "moved", {"region": "eu"})
    await api.data(SET_LABEL, {"id": moved, "key": "region", "value": "us"})
    await api.data(SET_LABEL, {"id": moved, "key": "scenarios", "value": ["FOO"]})
    await api.data(DELETE_FOR_SCENARIO, {"s": "FOO"})
    assert await scenarios_of(api, granted) == ["DEFAULT"]
    assert await scenarios_of(api, by_hand) == ["FOO"]
    assert await scenarios_of(api, moved) == ["FOO"]


async def test_unregistering_a_runtime_leaves_the_assignments_alone(api, scenarios):
    """A known difference: upstream deletes the assignments of the runtime's scenarios."""
    await create(api)
    await create(api, "BAR", {"key": "env", "value": "prod"})
    runtime = await register_runtime(api, "rt", {"region": "eu", "scenarios": ["BAR"]})
    await api.data("mutation($id: ID!) { unregisterRuntime(id: $id) { id } }", {"id": runtime})
    data = await api.data(PAGE)
    assert [a["scenarioName"] for a in data["automaticScenarioAssignments"]["data"]] == [
        "FOO",
        "BAR",
    ]
    again = await register_runtime(api, "rt", {"region": "eu"})
    assert await scenarios_of(api, again) == ["DEFAULT", "FOO"]


async def test_queries_list_page_and_select(api, scenarios):
    await create(api, "FOO", EU)
    await create(api, "BAR", EU)
    await create(api, "DEFAULT", {"key": "env", "value": "prod"})
    first = await api.data(PAGE, {"first": 2})
    page = first["automaticScenarioAssignments"]
    assert page["totalCount"] == 3
    assert [a["scenarioName"] for a in page["data"]] == ["FOO", "BAR"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await api.data(PAGE, {"first": 2, "after": page["pageInfo"]["endCursor"]})
    assert [a["scenarioName"] for a in rest["automaticScenarioAssignments"]["data"]] == ["DEFAULT"]
    data = await api.data(FOR_SELECTOR, {"sel": EU})
    assert [a["scenarioName"] for a in data["automaticScenarioAssignmentsForSelector"]] == [
        "FOO",
        "BAR",
    ]
    data = await api.data(FOR_SELECTOR, {"sel": {"key": "region", "value": "us"}})
    assert data["automaticScenarioAssignmentsForSelector"] == []
    data = await api.data(FOR_SCENARIO, {"s": "MISSING"})
    assert data["automaticScenarioAssignmentForScenario"] is None


async def test_delete_for_selector_removes_all_its_scenarios(api, scenarios):
    runtime = await register_runtime(api, "rt", {"region": "eu", "scenarios": ["DEFAULT"]})
    await create(api, "FOO", EU)
    await create(api, "BAR", EU)
    await create(api, "DEFAULT", {"key": "env", "value": "prod"})
    assert await scenarios_of(api, runtime) == ["DEFAULT", "FOO", "BAR"]
    data = await api.data(DELETE_FOR_SELECTOR, {"sel": EU})
    deleted = data["deleteAutomaticScenarioAssignmentsForSelector"]
    assert sorted(a["scenarioName"] for a in deleted) == ["BAR", "FOO"]
    assert await scenarios_of(api, runtime) == ["DEFAULT"]
    data = await api.data(PAGE)
    assert [a["scenarioName"] for a in data["automaticScenarioAssignments"]["data"]] == ["DEFAULT"]
    data = await api.data(DELETE_FOR_SELECTOR, {"sel": EU})
    assert data["deleteAutomaticScenarioAssignmentsForSelector"] == []


async def test_delete_missing_assignment_is_not_found(api, scenarios):
    error = await api.error(DELETE_FOR_SCENARIO, {"s": "FOO"})
    assert error_code(error) == 20


async def test_scenario_of_an_assignment_cannot_be_removed_from_definition(api, scenarios):
    await create(api, "FOO", {"key": "nobody", "value": "has-it"})
    schema = json.dumps(scenarios_schema(["DEFAULT", "BAR"]))
    error = await api.error(UPDATE_DEFINITION, {"s": schema})
    assert error_code(error) in (22, 27)
    assert "FOO" in error["message"]
    assert "assignment" in error["message"]
    # Removing an unused scenario still works, and so does removing FOO once unassigned.
    await define_scenarios(api, "FOO")
    await api.data(DELETE_FOR_SCENARIO, {"s": "FOO"})
    await define_scenarios(api)
    data = await api.data('{ labelDefinition(key: "scenarios") { schema } }')
    assert json.loads(data["labelDefinition"]["schema"])["items"]["enum"] == ["DEFAULT"]


async def test_operations_need_assignment_scopes(api, scenarios):
    await create(api)
    reader = api.mint(scopes=["automatic_scenario_assignment:read"])
    writer = api.mint(scopes=["automatic_scenario_assignment:write"])
    error = await api.error(CREATE, {"in": {"scenarioName": "BAR", "selector": EU}}, token=reader)
    assert error_code(error) == 23
    error = await api.error(DELETE_FOR_SCENARIO, {"s": "FOO"}, token=reader)
    assert error_code(error) == 23
    error = await api.error(DELETE_FOR_SELECTOR, {"sel": EU}, token=reader)
    assert error_code(error) == 23
    for query, variables in ((PAGE, {}), (FOR_SCENARIO, {"s": "FOO"}), (FOR_SELECTOR, {"sel": EU})):
        error = await api.error(query, variables, token=writer)
        assert error_code(error) == 23
        await api.data(query, variables, token=reader)
    data = await api.data(PAGE)
    assert [a["scenarioName"] for a in data["automaticScenarioAssignments"]["data"]] == ["FOO"]


async def test_assignments_are_per_tenant(api, scenarios):
    await create(api)
    tenant_b = await create_tenant(api.settings, "tenant-b")
    token_b = api.mint(tenant=tenant_b.id)
    data = await api.data(PAGE, token=token_b)
    assert data["automaticScenarioAssignments"]["totalCount"] == 0
    data = await api.data(FOR_SCENARIO, {"s": "FOO"}, token=token_b)
    assert data["automaticScenarioAssignmentForScenario"] is None
    runtime_b = await register_runtime(api, "b-rt", {"region": "eu"}, token=token_b)
    assert await scenarios_of(api, runtime_b, token=token_b) == ["DEFAULT"]
    # Tenant B has no FOO scenario until it defines one, then its own assignment is separate.
    error = await api.error(CREATE, {"in": {"scenarioName": "FOO", "selector": EU}}, token=token_b)
    assert error_code(error) == 22
    await define_scenarios(api, "FOO", token=token_b)
    await create(api, token=token_b)
    assert await scenarios_of(api, runtime_b, token=token_b) == ["DEFAULT", "FOO"]
    error = await api.error(DELETE_FOR_SCENARIO, {"s": "BAR"}, token=token_b)
    assert error_code(error) == 20
    await api.data(DELETE_FOR_SCENARIO, {"s": "FOO"}, token=token_b)
    data = await api.data(FOR_SCENARIO, {"s": "FOO"})
    assert data["automaticScenarioAssignmentForScenario"]["selector"] == EU
