"""`compass agent run` and `compass agent status`.

Flags are taken as text and checked by the settings class, so a bad value from
a flag, the environment or the config file ends the same way: one line on
stderr and exit status 2.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from compass.agent.settings import AgentSettings, SettingsError, load_settings

__all__ = ["agent_app"]

agent_app = typer.Typer(
    help="The Runtime Agent: pairs a runtime with Compass and keeps its applications in a "
    "state directory.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
USAGE_ERROR = 2
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _setting(name: str, metavar: str = "TEXT") -> Any:
    """An option for setting `name`, its variable and default shown by typer; the
    value stays text so that AgentSettings checks flags, variables and file alike."""
    field = AgentSettings.model_fields[name]
    default: str | bool = False
    if not field.is_required() and field.default is not None:
        default = f"{field.default:g}" if isinstance(field.default, float) else str(field.default)
    return typer.Option(
        metavar=metavar,
        envvar=f"COMPASS_AGENT_{name.upper()}",
        show_envvar=True,
        help=field.description,
        show_default=default,
    )


def _fail(message: str) -> typer.Exit:
    typer.echo(f"compass agent: {message}", err=True)
    return typer.Exit(USAGE_ERROR)


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT, stream=sys.stderr, force=True)
    for noisy in ("httpx", "httpcore"):  # request lines would repeat every sync
        logging.getLogger(noisy).setLevel(logging.WARNING)


@agent_app.command()
def run(
    config: Annotated[str | None, _setting("config", "FILE")] = None,
    connector_url: Annotated[str | None, _setting("connector_url", "URL")] = None,
    token: Annotated[
        str | None,
        typer.Option(
            metavar="TOKEN",
            envvar="COMPASS_AGENT_TOKEN",
            show_envvar=True,
            help="One-time token for pairing (visible to other users on the command line: "
            "prefer the environment or the config file)",
        ),
    ] = None,
    raw_encoded: Annotated[
        str | None,
        typer.Option(
            metavar="BASE64",
            envvar="COMPASS_AGENT_RAW_ENCODED",
            show_envvar=True,
            help="Base64 of {token, connectorURL}, as requestOneTimeTokenForRuntime "
            "answers; fills --token and --connector-url",
        ),
    ] = None,
    runtime_id: Annotated[str | None, _setting("runtime_id", "ID")] = None,
    tenant: Annotated[str | None, _setting("tenant", "ID")] = None,
    state_dir: Annotated[str | None, _setting("state_dir", "DIR")] = None,
    sync_interval: Annotated[str | None, _setting("sync_interval", "SECONDS")] = None,
    events_url: Annotated[str | None, _setting("events_url", "URL")] = None,
    console_url: Annotated[str | None, _setting("console_url", "URL")] = None,
    hook: Annotated[str | None, _setting("hook", "COMMAND")] = None,
    renew_fraction: Annotated[str | None, _setting("renew_fraction", "FRACTION")] = None,
    max_backoff: Annotated[str | None, _setting("max_backoff", "SECONDS")] = None,
    timeout: Annotated[str | None, _setting("timeout", "SECONDS")] = None,
    log_level: Annotated[str | None, _setting("log_level", "LEVEL")] = None,
) -> None:
    """Pair with the Connector (or reuse the stored certificate), report the runtime
    CONNECTED, and sync its applications until SIGTERM or SIGINT.

    Precedence: flags, then COMPASS_AGENT_* variables, then the config file."""
    flags = dict(locals())  # every parameter, by setting name
    from compass.agent.loop import main

    try:
        settings = load_settings(**flags)
        settings.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except SettingsError as error:
        raise _fail(str(error)) from None
    except OSError as error:
        raise _fail(f"cannot use state dir {state_dir}: {error.strerror}") from None
    _configure_logging(settings.log_level)
    asyncio.run(main(settings, lambda: load_settings(**flags)))


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_SHOWN = (
    "state",
    "runtime_id",
    "certificate_expires_at",
    "last_sync_at",
    "last_sync_result",
    "applications",
    "subscription",
    "last_error",
)


@agent_app.command()
def status(
    state_dir: Annotated[
        Path,
        typer.Option(
            metavar="DIR",
            envvar="COMPASS_AGENT_STATE_DIR",
            show_envvar=True,
            show_default=True,
            help="The agent's state directory",
        ),
    ] = Path(".compass-agent"),
    as_json: Annotated[bool, typer.Option("--json", help="Print status.json as it is")] = False,
) -> None:
    """Show how the agent is doing: connection state, certificate expiry, last
    sync and its result, number of applications, live subscription (active,
    reconnecting or unavailable), last error, and a line per
    entry of instance-auths.json (condition, instance auth ID, last error)."""
    from compass.agent.state import read_status  # with httpx: not for `compass --help`

    if not state_dir.is_dir():
        raise _fail(f"no state directory {state_dir}")
    try:
        current = read_status(state_dir)
    except (OSError, ValueError):
        raise _fail(f"no readable status.json in {state_dir} (has the agent run?)") from None
    if as_json:
        typer.echo(json.dumps(current, indent=2, sort_keys=True))
        return
    for key in _SHOWN:
        value = current.get(key)
        typer.echo(f"{key}: {'-' if value is None else value}")
    pid = current.get("pid")
    typer.echo(f"pid: {pid} ({'running' if _alive(pid) else 'not running'})")
    if current.get("instance_auths_error"):
        typer.echo(f"instance auths: {current['instance_auths_error']}")
    entries = current.get("instance_auths")
    if isinstance(entries, dict):
        for entry_id, entry in entries.items():
            if isinstance(entry, dict):
                typer.echo(_instance_auth_line(entry_id, entry))


def _instance_auth_line(entry_id: str, entry: dict[str, Any]) -> str:
    def shown(key: str) -> Any:
        value = entry.get(key)
        return "-" if value is None else value

    line = (
        f"instance auth {entry_id}: {shown('condition')} "
        f"(auth {shown('auth_id')}, bundle {shown('bundle_id')}"
        f"{', being given back' if entry.get('releasing') else ''})"
    )
    return f"{line}; last error: {entry['last_error']}" if entry.get("last_error") else line
