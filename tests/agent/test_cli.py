"""`compass agent run` with bad settings and `compass agent status`, in process
(the `agent` group alone; the e2e tests run it through `compass.cli`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from compass.agent.cli import agent_app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_agent_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("COMPASS_AGENT_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("arguments", "environment", "expected"),
    [
        ([], {}, "runtime_id is required"),
        (["--runtime-id", "r", "--sync-interval", "often"], {}, "sync_interval"),
        (["--runtime-id", "r"], {"COMPASS_AGENT_RENEW_FRACTION": "2"}, "renew_fraction"),
        (["--config", "/nonexistent.json"], {}, "cannot read config file"),
    ],
)
def test_bad_settings_exit_2_with_one_line(
    arguments: list[str], environment: dict[str, str], expected: str
) -> None:
    result = runner.invoke(agent_app, ["run", *arguments], env=environment)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert lines[0].startswith("compass agent: ")
    assert "Traceback" not in result.output


def test_status_prints_one_key_per_line_and_json(tmp_path: Path) -> None:
    status = {
        "state": "connected",
        "runtime_id": "rt-1",
        "certificate_expires_at": "2030-01-01T00:00:00+00:00",
        "last_sync_at": "2029-01-01T00:00:00+00:00",
        "last_sync_result": "ok",
        "applications": 3,
        "last_error": None,
        "pid": os.getpid(),
    }
    (tmp_path / "status.json").write_text(json.dumps(status))

    shown = runner.invoke(agent_app, ["status", "--state-dir", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert "state: connected" in lines
    assert "applications: 3" in lines
    assert "certificate_expires_at: 2030-01-01T00:00:00+00:00" in lines
    assert "last_sync_result: ok" in lines
    assert "last_error: -" in lines
    assert f"pid: {os.getpid()} (running)" in lines

    raw = runner.invoke(agent_app, ["status", "--state-dir", str(tmp_path), "--json"])
    assert raw.exit_code == 0 and json.loads(raw.stdout) == status


@pytest.mark.parametrize("make_dir", [False, True])
def test_status_without_state_exits_2(tmp_path: Path, make_dir: bool) -> None:
    state_dir = tmp_path / "state"
    if make_dir:
        state_dir.mkdir()
    result = runner.invoke(agent_app, ["status", "--state-dir", str(state_dir)])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_status_shows_a_line_per_instance_auth_entry(tmp_path: Path) -> None:
    status = {
        "state": "connected",
        "runtime_id": "rt-1",
        "pid": 0,
        "instance_auths": {
            "svc-1": {
                "auth_id": "ia-1",
                "bundle_id": "b1",
                "application_id": "a1",
                "condition": "SUCCEEDED",
                "last_error": None,
            },
            "svc-2": {
                "auth_id": None,
                "bundle_id": "b2",
                "application_id": None,
                "condition": None,
                "last_error": "no bundle b2",
            },
            "old": {
                "auth_id": "ia-0",
                "bundle_id": "b1",
                "condition": "SUCCEEDED",
                "last_error": None,
                "releasing": True,
            },
        },
        "instance_auths_error": "instance-auths.json is not valid JSON: ...",
    }
    (tmp_path / "status.json").write_text(json.dumps(status))

    shown = runner.invoke(agent_app, ["status", "--state-dir", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert "instance auth svc-1: SUCCEEDED (auth ia-1, bundle b1)" in lines
    assert "instance auth svc-2: - (auth -, bundle b2); last error: no bundle b2" in lines
    assert "instance auth old: SUCCEEDED (auth ia-0, bundle b1, being given back)" in lines
    assert "instance auths: instance-auths.json is not valid JSON: ..." in lines
