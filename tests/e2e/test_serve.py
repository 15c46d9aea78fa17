"""`compass serve` as a real process: start, register, match, stop, start again."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from compass.config import Settings
from tests.e2e.server import AdminClient, mint_token, running_server

SCENARIO = "E2E_SCENARIO"


def _add_scenario(client: AdminClient, name: str) -> None:
    current = client.data('{ labelDefinition(key: "scenarios") { schema } }')
    schema = json.loads(current["labelDefinition"]["schema"])
    schema["items"]["enum"].append(name)
    updated = client.data(
        "mutation($in: LabelDefinitionInput!) { updateLabelDefinition(in: $in) { schema } }",
        {"in": {"key": "scenarios", "schema": json.dumps(schema)}},
    )
    assert name in json.loads(updated["updateLabelDefinition"]["schema"])["items"]["enum"]


def _register_application(client: AdminClient, name: str, scenarios: list[str]) -> str:
    data = client.data(
        "mutation($in: ApplicationRegisterInput!) { registerApplication(in: $in) { id } }",
        {"in": {"name": name, "labels": {"scenarios": scenarios}}},
    )
    return data["registerApplication"]["id"]


def _apps_for_runtime(client: AdminClient, runtime_id: str) -> list[str]:
    data = client.data(
        "query($id: ID!) { applicationsForRuntime(runtimeID: $id) { data { name } } }",
        {"id": runtime_id},
    )
    return sorted(app["name"] for app in data["applicationsForRuntime"]["data"])


def test_serve_registers_matches_and_keeps_data_across_restarts(tmp_path: Path):
    data_dir = tmp_path / "data"

    with running_server(data_dir, tmp_path / "first.log") as server:
        key_path = Settings(data_dir=data_dir).jwt_key_path()
        assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
        key = key_path.read_bytes()

        token = mint_token(data_dir)
        client = AdminClient(server.base_url, token)
        try:
            _add_scenario(client, SCENARIO)
            _register_application(client, "in-scenario", [SCENARIO])
            _register_application(client, "elsewhere", ["DEFAULT"])
            runtime = client.data(
                "mutation($in: RuntimeInput!) { registerRuntime(in: $in) { id labels } }",
                {"in": {"name": "rt-1", "labels": {"scenarios": [SCENARIO]}}},
            )["registerRuntime"]
            assert runtime["labels"]["scenarios"] == [SCENARIO]
            assert _apps_for_runtime(client, runtime["id"]) == ["in-scenario"]
        finally:
            client.close()
    assert server.process.returncode is not None

    with running_server(data_dir, tmp_path / "second.log") as server:
        assert "Traceback" not in server.output()
        assert key_path.read_bytes() == key
        assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
        client = AdminClient(server.base_url, token)
        try:
            names = client.data("{ applications { data { name } } }")["applications"]["data"]
            assert sorted(app["name"] for app in names) == ["elsewhere", "in-scenario"]
            assert _apps_for_runtime(client, runtime["id"]) == ["in-scenario"]
            definition = client.data('{ labelDefinition(key: "scenarios") { schema } }')
            assert SCENARIO in json.loads(definition["labelDefinition"]["schema"])["items"]["enum"]
        finally:
            client.close()
    first, second = (tmp_path / "first.log").read_text(), (tmp_path / "second.log").read_text()
    assert "Running upgrade" in first
    assert "Running upgrade" not in second
