"""Flags over COMPASS_AGENT_* over the config file; raw_encoded; bad values."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from compass.agent.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def _no_agent_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("COMPASS_AGENT_"):
            monkeypatch.delenv(name)


def _raw(token: str, url: str) -> str:
    return base64.b64encode(json.dumps({"token": token, "connectorURL": url}).encode()).decode()


def _file(tmp_path: Path, **content: object) -> Path:
    path = tmp_path / "agent.json"
    path.write_text(json.dumps(content))
    return path


def test_flags_win_over_environment_which_wins_over_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _file(
        tmp_path,
        runtime_id="from-file",
        tenant="file-tenant",
        sync_interval=30,
        state_dir=str(tmp_path / "file-state"),
        events_url="https://events.file",
        hook=None,
        renew_fraction=0.3333,
        unknown_key="ignored",
    )
    monkeypatch.setenv("COMPASS_AGENT_CONFIG", str(config))
    monkeypatch.setenv("COMPASS_AGENT_SYNC_INTERVAL", "20")
    monkeypatch.setenv("COMPASS_AGENT_TENANT", "env-tenant")

    settings = load_settings(sync_interval="5", runtime_id=None)

    assert settings.sync_interval == 5
    assert settings.tenant == "env-tenant"
    assert settings.runtime_id == "from-file"
    assert settings.state_dir == tmp_path / "file-state"
    assert settings.events_url == "https://events.file"
    assert settings.hook is None and settings.console_url is None
    assert settings.renew_fraction == 0.3333
    assert settings.headers() == {"Tenant": "env-tenant"}


def test_config_file_flag_and_defaults(tmp_path: Path) -> None:
    settings = load_settings(config=str(_file(tmp_path, runtime_id="r")))
    assert settings.state_dir == Path(".compass-agent")
    assert settings.sync_interval == 10
    assert settings.renew_fraction == pytest.approx(1 / 3)
    assert settings.token is None and settings.tenant is None and settings.headers() == {}


def test_raw_encoded_stands_for_token_and_connector_url_at_its_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _file(
        tmp_path, runtime_id="r", raw_encoded=_raw("file-token", "http://file/connector")
    )
    from_file = load_settings(config=str(config))
    assert from_file.token.get_secret_value() == "file-token"
    assert from_file.connector_url == "http://file/connector"

    monkeypatch.setenv("COMPASS_AGENT_RAW_ENCODED", _raw("env-token", "http://env/connector"))
    from_env = load_settings(config=str(config))
    assert from_env.token.get_secret_value() == "env-token"
    assert from_env.connector_url == "http://env/connector"

    from_flag = load_settings(config=str(config), token="flag-token")
    assert from_flag.token.get_secret_value() == "flag-token"
    assert "flag-token" not in repr(from_flag)


def test_hook_is_split_like_a_shell_would(tmp_path: Path) -> None:
    settings = load_settings(runtime_id="r", hook="/usr/bin/apply --mode 'two words'")
    assert settings.hook_command() == ["/usr/bin/apply", "--mode", "two words"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({}, "runtime_id is required"),
        ({"runtime_id": "r", "sync_interval": "soon"}, "sync_interval"),
        ({"runtime_id": "r", "sync_interval": "0"}, "sync_interval"),
        ({"runtime_id": "r", "renew_fraction": "1.5"}, "renew_fraction"),
        ({"runtime_id": "r", "connector_url": "ftp://x"}, "connector_url"),
        ({"runtime_id": "r", "token": "t"}, "a token needs connector_url"),
        ({"runtime_id": "r", "raw_encoded": "not base64!"}, "raw_encoded"),
        ({"runtime_id": "r", "log_level": "loud"}, "log_level"),
        ({"runtime_id": "r", "config": "/nonexistent/agent.json"}, "cannot read config file"),
    ],
)
def test_bad_settings_give_one_line(flags: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(**flags)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_config_file_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "agent.json"
    path.write_text("{runtime_id: ")
    with pytest.raises(SettingsError, match="is not valid JSON"):
        load_settings(config=str(path))
