from tests.conftest import error_code

CONTEXT_FIELDS = "id key value labels"
REGISTER = f"""mutation($in: RuntimeContextInput!, $rt: ID) {{
    registerRuntimeContext(in: $in, runtimeID: $rt) {{ {CONTEXT_FIELDS} }}
}}"""
UPDATE = f"""mutation($id: ID!, $in: RuntimeContextInput!) {{
    updateRuntimeContext(id: $id, in: $in) {{ {CONTEXT_FIELDS} }}
}}"""
UNREGISTER = f"mutation($id: ID!) {{ unregisterRuntimeContext(id: $id) {{ {CONTEXT_FIELDS} }} }}"
GET = f"query($id: ID!) {{ runtimeContext(id: $id) {{ {CONTEXT_FIELDS} }} }}"
LIST = f"""query($filter: [LabelFilter!], $first: Int, $after: PageCursor) {{
    runtimeContexts(filter: $filter, first: $first, after: $after) {{
        totalCount
        pageInfo {{ startCursor endCursor hasNextPage }}
        data {{ {CONTEXT_FIELDS} }}
    }}
}}"""
MISSING_ID = "7c1d4c5e-0000-4000-8000-000000000000"


async def register_runtime(api, name="rt"):
    data = await api.data(
        "mutation($in: RuntimeInput!) { registerRuntime(in: $in) { id } }", {"in": {"name": name}}
    )
    return data["registerRuntime"]["id"]


async def register_context(api, runtime_id, key="namespace", value="default", labels=None):
    context_in = {"key": key, "value": value}
    if labels is not None:
        context_in["labels"] = labels
    data = await api.data(REGISTER, {"in": context_in, "rt": runtime_id})
    return data["registerRuntimeContext"]


async def test_register_returns_context_with_labels(api):
    runtime_id = await register_runtime(api)
    context = await register_context(api, runtime_id, "ns", "team-a", {"env": "dev"})
    assert context["key"] == "ns"
    assert context["value"] == "team-a"
    assert context["labels"] == {"env": "dev"}
    read = await api.data(GET, {"id": context["id"]})
    assert read["runtimeContext"] == context


async def test_register_without_labels_has_no_labels(api):
    runtime_id = await register_runtime(api)
    context = await register_context(api, runtime_id)
    assert context["labels"] == {}


async def test_register_without_runtime_id_is_invalid_for_users(api):
    error = await api.error(REGISTER, {"in": {"key": "ns", "value": "v"}})
    assert error_code(error) == 22
    assert "runtimeID" in error["message"]


async def test_register_for_missing_runtime_is_not_found(api):
    error = await api.error(REGISTER, {"in": {"key": "ns", "value": "v"}, "rt": MISSING_ID})
    assert error_code(error) == 20
    data = await api.data(LIST)
    assert data["runtimeContexts"]["totalCount"] == 0


async def test_register_rejects_invalid_label_key(api):
    runtime_id = await register_runtime(api)
    error = await api.error(
        REGISTER, {"in": {"key": "ns", "value": "v", "labels": {"bad-key": 1}}, "rt": runtime_id}
    )
    assert error_code(error) == 22


async def test_update_replaces_key_value_and_labels(api):
    runtime_id = await register_runtime(api)
    context = await register_context(api, runtime_id, labels={"env": "dev", "team": "a"})
    data = await api.data(
        UPDATE,
        {"id": context["id"], "in": {"key": "ns2", "value": "other", "labels": {"env": "prod"}}},
    )
    updated = data["updateRuntimeContext"]
    assert updated == {
        "id": context["id"],
        "key": "ns2",
        "value": "other",
        "labels": {"env": "prod"},
    }
    read = await api.data(GET, {"id": context["id"]})
    assert read["runtimeContext"] == updated


async def test_update_without_labels_keeps_labels(api):
    runtime_id = await register_runtime(api)
    context = await register_context(api, runtime_id, labels={"env": "dev"})
    data = await api.data(UPDATE, {"id": context["id"], "in": {"key": "ns", "value": "new"}})
    assert data["updateRuntimeContext"]["labels"] == {"env": "dev"}


async def test_update_missing_context_is_not_found(api):
    error = await api.error(UPDATE, {"id": MISSING_ID, "in": {"key": "ns", "value": "v"}})
    assert error_code(error) == 20


async def test_unregister_returns_context_with_labels(api):
    runtime_id = await register_runtime(api)
    context = await register_context(api, runtime_id, labels={"env": "dev"})
    data = await api.data(UNREGISTER, {"id": context["id"]})
    assert data["unregisterRuntimeContext"] == context
    read = await api.data(GET, {"id": context["id"]})
    assert read["runtimeContext"] is None


async def test_unregister_missing_context_is_not_found(api):
    error = await api.error(UNREGISTER, {"id": MISSING_ID})
    assert error_code(error) == 20


async def test_missing_context_is_null(api):
    read = await api.data(GET, {"id": MISSING_ID})
    assert read["runtimeContext"] is None


async def test_list_filters_by_label_value(api):
    runtime_id = await register_runtime(api)
    dev = await register_context(api, runtime_id, value="a", labels={"env": "dev"})
    await register_context(api, runtime_id, value="b", labels={"env": "prod"})
    await register_context(api, runtime_id, value="c")
    data = await api.data(LIST, {"filter": [{"key": "env", "query": '"dev"'}]})
    page = data["runtimeContexts"]
    assert page["totalCount"] == 1
    assert [c["id"] for c in page["data"]] == [dev["id"]]


async def test_list_filters_by_label_key(api):
    runtime_id = await register_runtime(api)
    labelled = [
        await register_context(api, runtime_id, value=v, labels={"env": v}) for v in ("a", "b")
    ]
    await register_context(api, runtime_id, value="c")
    data = await api.data(LIST, {"filter": [{"key": "env"}]})
    assert sorted(c["id"] for c in data["runtimeContexts"]["data"]) == sorted(
        c["id"] for c in labelled
    )


async def test_list_filters_by_array_element(api):
    runtime_id = await register_runtime(api)
    blue = await register_context(api, runtime_id, value="a", labels={"tags": ["blue", "red"]})
    await register_context(api, runtime_id, value="b", labels={"tags": ["green"]})
    data = await api.data(LIST, {"filter": [{"key": "tags", "query": '$[*] ? (@ == "blue")'}]})
    assert [c["id"] for c in data["runtimeContexts"]["data"]] == [blue["id"]]


async def test_list_rejects_unsupported_filter_query(api):
    error = await api.error(LIST, {"filter": [{"key": "env", "query": "$.foo > 1"}]})
    assert error_code(error) == 22


async def test_list_pages_with_cursor(api):
    runtime_id = await register_runtime(api)
    ids = [(await register_context(api, runtime_id, value=str(i)))["id"] for i in range(3)]
    first = (await api.data(LIST, {"first": 2}))["runtimeContexts"]
    assert first["totalCount"] == 3
    assert first["pageInfo"]["hasNextPage"] is True
    assert [c["id"] for c in first["data"]] == ids[:2]
    after = first["pageInfo"]["endCursor"]
    second = (await api.data(LIST, {"first": 2, "after": after}))["runtimeContexts"]
    assert second["totalCount"] == 3
    assert second["pageInfo"]["hasNextPage"] is False
    assert [c["id"] for c in second["data"]] == ids[2:]


async def test_list_rejects_invalid_cursor(api):
    error = await api.error(LIST, {"after": "%%%not-a-cursor"})
    assert error_code(error) == 22


async def test_list_rejects_page_size_above_maximum(api):
    error = await api.error(LIST, {"first": 201})
    assert error_code(error) == 22


async def test_contexts_of_all_runtimes_are_listed(api):
    first = await register_context(api, await register_runtime(api, "one"))
    second = await register_context(api, await register_runtime(api, "two"))
    data = await api.data(LIST)
    assert [c["id"] for c in data["runtimeContexts"]["data"]] == [first["id"], second["id"]]


async def test_contexts_disappear_with_their_runtime(api):
    runtime_id = await register_runtime(api, "doomed")
    other_runtime = await register_runtime(api, "kept")
    doomed = await register_context(api, runtime_id, labels={"env": "dev"})
    kept = await register_context(api, other_runtime, labels={"env": "dev"})
    await api.data("mutation($id: ID!) { unregisterRuntime(id: $id) { id } }", {"id": runtime_id})
    read = await api.data(GET, {"id": doomed["id"]})
    assert read["runtimeContext"] is None
    data = await api.data(LIST, {"filter": [{"key": "env"}]})
    assert [c["id"] for c in data["runtimeContexts"]["data"]] == [kept["id"]]
    assert data["runtimeContexts"]["totalCount"] == 1
