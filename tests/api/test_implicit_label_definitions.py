"""Applications and runtimes set labels only with keys that have a definition:
a new key would create a tenant-wide definition, which needs
label_definition:write. The keys the Runtime Agent sets keep working."""

from __future__ import annotations

import pytest

from tests.api.trust import BEHIND_PROXY, compass_api, paired_application, paired_runtime
from tests.conftest import Api, error_code

SET_APP_LABEL = """mutation($id: ID!, $key: String!, $value: Any!) {
  setApplicationLabel(applicationID: $id, key: $key, value: $value) { key value } }"""
SET_RUNTIME_LABEL = """mutation($id: ID!, $key: String!, $value: Any!) {
  setRuntimeLabel(runtimeID: $id, key: $key, value: $value) { key value } }"""
UPDATE_RUNTIME = """mutation($id: ID!, $labels: Labels) {
  updateRuntime(id: $id, in: {name: "cluster", labels: $labels}) { labels } }"""
CREATE_DEFINITION = """mutation($key: String!) {
  createLabelDefinition(in: {key: $key}) { key } }"""
DEFINITIONS = "{ labelDefinitions { key } }"


@pytest.fixture
async def proxy(settings):
    """Certificates reach the app through a trusted proxy's header."""
    async with compass_api(settings, **BEHIND_PROXY) as api:
        yield api


async def _keys(api: Api) -> list[str]:
    return sorted(d["key"] for d in (await api.data(DEFINITIONS))["labelDefinitions"])


async def test_application_cannot_create_a_definition_by_setting_a_label(proxy):
    api = proxy
    app_id, application = await paired_application(api)
    before = await _keys(api)
    error = await application.error(SET_APP_LABEL, {"id": app_id, "key": "owner", "value": "x"})
    assert error_code(error) == 23
    assert "label_definition:write" in error["message"]
    assert await _keys(api) == before

    await api.data(CREATE_DEFINITION, {"key": "owner"})
    label = await application.data(SET_APP_LABEL, {"id": app_id, "key": "owner", "value": "x"})
    assert label["setApplicationLabel"] == {"key": "owner", "value": "x"}


async def test_runtime_cannot_create_a_definition_by_setting_a_label(proxy):
    api = proxy
    runtime_id, runtime = await paired_runtime(api, "cluster", ["DEFAULT"])
    before = await _keys(api)
    error = await runtime.error(
        SET_RUNTIME_LABEL, {"id": runtime_id, "key": "region", "value": "eu"}
    )
    assert error_code(error) == 23
    error = await runtime.error(
        UPDATE_RUNTIME, {"id": runtime_id, "labels": {"scenarios": ["DEFAULT"], "zone": "a"}}
    )
    assert error_code(error) == 23
    assert await _keys(api) == before


async def test_runtime_agent_url_labels_keep_working(proxy):
    api = proxy
    runtime_id, runtime = await paired_runtime(api, "cluster", ["DEFAULT"])
    for key, value in [
        ("runtime_eventServiceUrl", "https://gateway.cluster.example"),
        ("runtime_consoleUrl", "https://console.cluster.example"),
    ]:
        variables = {"id": runtime_id, "key": key, "value": value}
        label = await runtime.data(SET_RUNTIME_LABEL, variables)
        assert label["setRuntimeLabel"] == {"key": key, "value": value}
    assert {"runtime_consoleUrl", "runtime_eventServiceUrl"} <= set(await _keys(api))


async def test_administrator_still_defines_keys_by_using_them(proxy):
    api = proxy
    app_id, _application = await paired_application(api)
    label = await api.data(SET_APP_LABEL, {"id": app_id, "key": "owner", "value": "x"})
    assert label["setApplicationLabel"] == {"key": "owner", "value": "x"}
    assert "owner" in await _keys(api)
