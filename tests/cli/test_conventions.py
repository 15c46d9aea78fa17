"""What users of other command lines expect: --version, options that show their
variable and default, list commands with --output json|table."""

from __future__ import annotations

import json
from importlib.metadata import version

from typer.main import get_command

from compass.cli import app
from compass.config import DEFAULT_TENANT_ID, Settings
from tests.cli.conftest import run_compass


def test_version():
    result = run_compass("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"compass {version('compass-py')}"


def _commands(group, path=()):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def test_every_setting_option_shows_its_variable_and_default():
    """An option named like a setting is that setting: same variable, same default."""
    checked = 0
    for path, command in _commands(get_command(app)):
        for option in command.params:
            name = option.name
            if path[0] == "agent" or name not in Settings.model_fields:
                continue
            assert option.envvar == f"COMPASS_{name.upper()}", (path, name)
            assert option.show_envvar, (path, name)
            default = Settings.model_fields[name].get_default(call_default_factory=True)
            if default is not None:
                shown = f"{default:g}" if isinstance(default, float) else str(default)
                assert option.show_default == shown, (path, name, option.show_default)
            checked += 1
    assert checked >= 20


def test_serve_help_shows_variables_and_defaults():
    result = run_compass("serve", "--help")
    text = " ".join(result.stdout.split())
    assert "--port PORT Port of the public listener. [env var: COMPASS_PORT; default: (3000)]" in (
        text
    )
    for flag in ("--jwt-jwks-url", "--jwt-issuer", "--jwt-audience", "--shutdown-timeout"):
        assert flag in text


def test_tenant_list_as_table_and_as_json(served: list[str]):
    added = run_compass("tenant", "add", "--name", "Acme Corp", "--external-id", "acme", *served)
    assert added.returncode == 0, added.stderr
    acme_id = added.stdout.strip()

    table = run_compass("tenant", "list", *served).stdout.splitlines()
    assert table[0].split() == ["ID", "EXTERNAL", "ID", "NAME"]
    assert len(table) == 3
    name_column = table[0].index("NAME")
    assert sorted(line[name_column:] for line in table[1:]) == ["Acme Corp", "default"]

    rows = json.loads(run_compass("tenant", "list", "--output", "json", *served).stdout)
    assert sorted(rows, key=lambda row: row["name"]) == [
        {"id": acme_id, "external_id": "acme", "name": "Acme Corp"},
        {"id": DEFAULT_TENANT_ID, "external_id": DEFAULT_TENANT_ID, "name": "default"},
    ]


def test_a_bad_output_format_is_a_usage_error(served: list[str]):
    result = run_compass("tenant", "list", "--output", "yaml", *served)
    assert result.returncode == 2
    assert "'yaml'" in result.stderr and "--output" in result.stderr
