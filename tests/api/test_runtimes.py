from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import error_code

RUNTIME_FIELDS = """
    id name description labels
    status { condition timestamp }
    metadata { creationTimestamp }
"""

REGISTER = f"mutation($in: RuntimeInput!) {{ registerRuntime(in: $in) {{ {RUNTIME_FIELDS} }} }}"
UPDATE = f"""mutation($id: ID!, $in: RuntimeInput!) {{
    updateRuntime(id: $id, in: $in) {{ {RUNTIME_FIELDS} }}
}}"""
UNREGISTER = f"mutation($id: ID!) {{ unregisterRuntime(id: $id) {{ {RUNTIME_FIELDS} }} }}"
GET = f"query($id: ID!) {{ runtime(id: $id) {{ {RUNTIME_FIELDS} }} }}"
MISSING_ID = "7c1d4c5e-0000-4000-8000-000000000000"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def register(api, **fields):
    data = await api.data(REGISTER, {"in": {"name": "rt", **fields}})
    return data["registerRuntime"]


async def test_register_returns_runtime_with_labels_and_description(api):
    runtime = await register(
        api, name="prod-eu", description="EU cluster", labels={"region": "eu", "size": 3}
    )
    assert runtime["name"] == "prod-eu"
    assert runtime["description"] == "EU cluster"
    assert runtime["labels"] == {"region": "eu", "size": 3, "scenarios": ["DEFAULT"]}


async def test_runtime_without_scenarios_is_in_default_as_an_application_is(api):
    """Upstream: registerRuntime(in: {name: "bare"}) { labels } -> {"scenarios": ["DEFAULT"]}."""
    data = await api.data('mutation { registerRuntime(in: {name: "bare"}) { id labels } }')
    assert data["registerRuntime"]["labels"] == {"scenarios": ["DEFAULT"]}
    runtime = await register(api, name="own", labels={"scenarios": ["DEFAULT"], "a": "b"})
    assert runtime["labels"] == {"scenarios": ["DEFAULT"], "a": "b"}


async def test_register_defaults_status_to_initial_with_timestamps(api):
    before = datetime.now(UTC) - timedelta(seconds=5)
    runtime = await register(api)
    assert runtime["status"]["condition"] == "INITIAL"
    created = parse_time(runtime["metadata"]["creationTimestamp"])
    assert created.tzinfo is not None
    assert before <= created <= datetime.now(UTC) + timedelta(seconds=5)
    assert parse_time(runtime["status"]["timestamp"]) >= before


async def test_register_keeps_given_status_condition(api):
    runtime = await register(api, statusCondition="PROVISIONING")
    assert runtime["status"]["condition"] == "PROVISIONING"


async def test_registered_runtime_reads_back(api):
    runtime = await register(api, labels={"env": "dev"})
    read = await api.data(GET, {"id": runtime["id"]})
    assert read["runtime"] == runtime


@pytest.mark.parametrize("name", ["", "Upper", "1starts-with-digit", "has space", "x" * 37])
async def test_register_rejects_invalid_name(api, name):
    error = await api.error(REGISTER, {"in": {"name": name}})
    assert error_code(error) == 22
    runtimes = await api.data("{ runtimes { totalCount } }")
    assert runtimes["runtimes"]["totalCount"] == 0


async def test_register_accepts_name_of_36_characters(api):
    runtime = await register(api, name="a" * 36)
    assert runtime["name"] == "a" * 36


async def test_register_rejects_invalid_label_key(api):
    error = await api.error(REGISTER, {"in": {"name": "rt", "labels": {"bad key": 1}}})
    assert error_code(error) == 22


async def test_register_duplicate_name_is_not_unique(api):
    await register(api, name="twin")
    error = await api.error(REGISTER, {"in": {"name": "twin"}})
    assert error_code(error) == 21
    runtimes = await api.data("{ runtimes { totalCount } }")
    assert runtimes["runtimes"]["totalCount"] == 1


async def test_update_replaces_name_description_and_status(api):
    runtime = await register(api, description="old")
    data = await api.data(
        UPDATE,
        {"id": runtime["id"], "in": {"name": "renamed", "statusCondition": "CONNECTED"}},
    )
    updated = data["updateRuntime"]
    assert updated["id"] == runtime["id"]
    assert updated["name"] == "renamed"
    assert updated["description"] is None
    assert updated["status"]["condition"] == "CONNECTED"
    assert parse_time(updated["status"]["timestamp"]) >= parse_time(runtime["status"]["timestamp"])
    assert updated["metadata"] == runtime["metadata"]
    read = await api.data(GET, {"id": runtime["id"]})
    assert read["runtime"]["name"] == "renamed"


async def test_update_without_status_keeps_status(api):
    runtime = await register(api, statusCondition="FAILED")
    data = await api.data(UPDATE, {"id": runtime["id"], "in": {"name": "rt"}})
    assert data["updateRuntime"]["status"] == runtime["status"]


async def test_update_labels_replace_others_but_keep_scenarios(api):
    runtime = await register(api, labels={"scenarios": ["DEFAULT"], "env": "dev", "team": "a"})
    data = await api.data(
        UPDATE, {"id": runtime["id"], "in": {"name": "rt", "labels": {"env": "prod"}}}
    )
    expected = {"scenarios": ["DEFAULT"], "env": "prod"}
    assert data["updateRuntime"]["labels"] == expected
    read = await api.data(GET, {"id": runtime["id"]})
    assert read["runtime"]["labels"] == expected


async def test_update_labels_with_scenarios_replace_scenarios(api):
    await api.data(
        'mutation { updateLabelDefinition(in: {key: "scenarios", schema: '
        '"{\\"type\\":\\"array\\",\\"uniqueItems\\":true,\\"items\\":{\\"type\\":\\"string\\",'
        '\\"enum\\":[\\"DEFAULT\\",\\"BLUE\\"]}}"}) { key } }'
    )
    runtime = await register(api, labels={"scenarios": ["DEFAULT"], "env": "dev"})
    data = await api.data(
        UPDATE, {"id": runtime["id"], "in": {"name": "rt", "labels": {"scenarios": ["BLUE"]}}}
    )
    assert data["updateRuntime"]["labels"] == {"scenarios": ["BLUE"]}


async def test_update_with_empty_labels_keeps_only_scenarios(api):
    runtime = await register(api, labels={"scenarios": ["DEFAULT"], "env": "dev"})
    data = await api.data(UPDATE, {"id": runtime["id"], "in": {"name": "rt", "labels": {}}})
    assert data["updateRuntime"]["labels"] == {"scenarios": ["DEFAULT"]}


async def test_update_without_labels_keeps_all_labels(api):
    labels = {"scenarios": ["DEFAULT"], "env": "dev", "team": "a"}
    runtime = await register(api, labels=labels)
    data = await api.data(UPDATE, {"id": runtime["id"], "in": {"name": "rt2"}})
    assert data["updateRuntime"]["labels"] == labels


async def test_update_to_taken_name_is_not_unique(api):
    await register(api, name="first")
    second = await register(api, name="second")
    error = await api.error(UPDATE, {"id": second["id"], "in": {"name": "first"}})
    assert error_code(error) == 21
    read = await api.data(GET, {"id": second["id"]})
    assert read["runtime"]["name"] == "second"


async def test_update_keeping_own_name_is_allowed(api):
    runtime = await register(api, name="same")
    data = await api.data(UPDATE, {"id": runtime["id"], "in": {"name": "same", "description": "d"}})
    assert data["updateRuntime"]["description"] == "d"


async def test_update_rejects_invalid_name(api):
    runtime = await register(api)
    error = await api.error(UPDATE, {"id": runtime["id"], "in": {"name": "Bad_Name"}})
    assert error_code(error) == 22


async def test_update_missing_runtime_is_not_found(api):
    error = await api.error(UPDATE, {"id": MISSING_ID, "in": {"name": "rt"}})
    assert error_code(error) == 20


async def test_unregister_returns_runtime_with_labels(api):
    runtime = await register(api, labels={"env": "dev"})
    data = await api.data(UNREGISTER, {"id": runtime["id"]})
    assert data["unregisterRuntime"] == runtime


async def test_unregistered_runtime_is_gone(api):
    runtime = await register(api)
    await api.data(UNREGISTER, {"id": runtime["id"]})
    read = await api.data(GET, {"id": runtime["id"]})
    assert read["runtime"] is None
    runtimes = await api.data("{ runtimes { totalCount data { id } } }")
    assert runtimes["runtimes"] == {"totalCount": 0, "data": []}


async def test_name_is_free_again_after_unregister(api):
    runtime = await register(api, name="reused")
    await api.data(UNREGISTER, {"id": runtime["id"]})
    again = await register(api, name="reused")
    assert again["id"] != runtime["id"]


async def test_unregister_missing_runtime_is_not_found(api):
    error = await api.error(UNREGISTER, {"id": MISSING_ID})
    assert error_code(error) == 20


async def test_missing_runtime_is_null(api):
    read = await api.data(GET, {"id": MISSING_ID})
    assert read["runtime"] is None


async def test_labels_with_key_returns_only_that_label(api):
    runtime = await register(api, labels={"env": "dev", "team": "a"})
    read = await api.data(
        'query($id: ID!) { runtime(id: $id) { labels(key: "team") } }', {"id": runtime["id"]}
    )
    assert read["runtime"]["labels"] == {"team": "a"}


async def test_runtimes_lists_in_registration_order(api):
    ids = [(await register(api, name=f"rt-{i}"))["id"] for i in range(3)]
    data = await api.data("{ runtimes { totalCount data { id } pageInfo { hasNextPage } } }")
    page = data["runtimes"]
    assert page["totalCount"] == 3
    assert [r["id"] for r in page["data"]] == ids
    assert page["pageInfo"]["hasNextPage"] is False
