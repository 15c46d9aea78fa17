import re

import pytest

from compass.domain.application.service import ApplicationService
from compass.domain.label.service import LabelService
from tests.conftest import error_code

MISSING_ID = "7c1d4c5e-0000-4000-8000-000000000000"
ERROR_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.mark.parametrize(
    ("query", "name", "code"),
    [
        (f'mutation {{ unregisterRuntime(id: "{MISSING_ID}") {{ id }} }}', "NotFound", 20),
        ('mutation { registerRuntime(in: {name: "Bad Name"}) { id } }', "InvalidData", 22),
        (
            'mutation { deleteLabelDefinition(key: "scenarios") { key } }',
            "InvalidOperation",
            27,
        ),
    ],
)
async def test_error_extensions_carry_name_and_code(api, query, name, code):
    error = await api.error(query)
    assert error["extensions"] == {"error": name, "error_code": code}
    assert error["path"]


async def test_not_unique_extensions(api):
    await api.data('mutation { registerApplication(in: {name: "app"}) { id } }')
    error = await api.error('mutation { registerApplication(in: {name: "app"}) { id } }')
    assert error["extensions"] == {"error": "NotUnique", "error_code": 21}


async def test_unexpected_exception_is_internal_error_without_details(api, monkeypatch):
    async def explode(self, *args, **kwargs):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(ApplicationService, "list", explode)
    response = await api.client.post(
        "/graphql",
        json={"query": "{ applications { totalCount } }"},
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 200
    body = response.json()
    assert len(body["errors"]) == 1
    error = body["errors"][0]
    assert error["extensions"] == {"error": "InternalError", "error_code": 10}
    assert ERROR_ID.search(error["message"])
    assert "secret detail" not in response.text
    assert "RuntimeError" not in response.text
    assert "Traceback" not in response.text


async def test_internal_error_id_is_logged_with_the_details(api, monkeypatch, caplog):
    async def explode(self, *args, **kwargs):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(ApplicationService, "list", explode)
    error = await api.error("{ applications { totalCount } }")
    error_id = ERROR_ID.search(error["message"]).group(0)
    logged = [r for r in caplog.records if error_id in r.getMessage()]
    assert logged
    assert "secret detail" in str(logged[0].exc_info[1])


async def test_invalid_label_value_leaves_no_application(api):
    await api.data(
        'mutation { createLabelDefinition(in: {key: "size", schema: "{\\"type\\": \\"integer\\"}"})'
        " { key } }"
    )
    error = await api.error(
        'mutation { registerApplication(in: {name: "half", labels: {fresh: 1, size: "big"}}) '
        "{ id } }"
    )
    assert error_code(error) == 22
    data = await api.data('{ applications { totalCount } labelDefinition(key: "fresh") { key } }')
    assert data == {"applications": {"totalCount": 0}, "labelDefinition": None}
    again = await api.data(
        'mutation { registerApplication(in: {name: "half", labels: {size: 2}}) { labels } }'
    )
    assert again["registerApplication"]["labels"] == {"scenarios": ["DEFAULT"], "size": 2}


async def test_unexpected_exception_in_mutation_rolls_back(api, monkeypatch):
    async def explode(self, *args, **kwargs):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(LabelService, "set_many", explode)
    error = await api.error('mutation { registerApplication(in: {name: "half"}) { id } }')
    assert error_code(error) == 10
    monkeypatch.undo()
    data = await api.data("{ applications { totalCount } }")
    assert data["applications"]["totalCount"] == 0


async def test_failed_mutation_does_not_undo_earlier_ones(api):
    body = await api.post(
        """mutation {
            first: registerRuntime(in: {name: "one"}) { id }
            second: registerRuntime(in: {name: "one"}) { id }
        }"""
    )
    assert [error_code(e) for e in body["errors"]] == [21]
    data = await api.data("{ runtimes { totalCount data { name } } }")
    assert data["runtimes"] == {"totalCount": 1, "data": [{"name": "one"}]}


@pytest.mark.parametrize("schema", ["{not json", "", "[1, 2"])
async def test_invalid_json_text_is_invalid_data(api, schema):
    error = await api.error(
        'mutation($s: JSONSchema) { createLabelDefinition(in: {key: "k", schema: $s}) { key } }',
        {"s": schema},
    )
    assert error_code(error) == 22
    data = await api.data('{ labelDefinition(key: "k") { key } }')
    assert data["labelDefinition"] is None


async def test_json_text_that_is_not_a_schema_is_invalid_data(api):
    error = await api.error(
        'mutation($s: JSONSchema) { createLabelDefinition(in: {key: "k", schema: $s}) { key } }',
        {"s": '{"type": 12}'},
    )
    assert error_code(error) == 22
