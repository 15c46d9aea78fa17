"""How the command line ends when something goes wrong: one line on stderr.

Commands raise what they meet; `run_app` (the `compass` entry point's body)
catches it and `describe` turns it into that line and the exit status, in one
place:

- `ConfigurationError` (status 2): a setting, flag or file that needs fixing
  (an unusable data directory, a missing signing key, an unknown tenant);
- `RuntimeFailure` (status 1): the configuration is right, the world is not
  (a port held by another process, a database that does not answer);
- errors of the libraries underneath (pydantic, SQLAlchemy, the CA and key
  loaders, the domain's `CompassError`) are mapped to one of the two.

Anything else is a bug: status 1, its type and message, and a hint to rerun
with `--debug` for the traceback.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

__all__ = [
    "CONFIGURATION",
    "RUNTIME",
    "CliFailure",
    "ConfigurationError",
    "RuntimeFailure",
    "describe",
    "flag_and_variable",
    "offer_flag",
    "run_app",
]

RUNTIME = 1
CONFIGURATION = 2


class CliFailure(Exception):
    """A failure the command line reports as its message and `status`."""

    status = RUNTIME


class ConfigurationError(CliFailure):
    status = CONFIGURATION


class RuntimeFailure(CliFailure):
    status = RUNTIME


# Settings that some command takes as a flag (`compass.cli` offers them); the
# others are set by their environment variable alone.
_SETTINGS_WITH_FLAGS: set[str] = set()


def offer_flag(setting: str) -> None:
    """Record that a command has a flag for `setting`, so that errors name it."""
    _SETTINGS_WITH_FLAGS.add(setting)


def flag_and_variable(setting: str) -> str:
    """How a setting is named to the user: `--data-dir / COMPASS_DATA_DIR`, or
    only the variable for a setting no command has a flag for."""
    variable = f"COMPASS_{setting.upper()}"
    if setting not in _SETTINGS_WITH_FLAGS:
        return variable
    return f"--{setting.replace('_', '-')} / {variable}"


def describe(error: BaseException) -> tuple[int, str]:
    """The exit status and the one line for `error`."""
    if isinstance(error, CliFailure):
        return error.status, str(error)
    for kind, explain in _explainers():
        if isinstance(error, kind):
            return explain(error)
    text = _first_line(str(error))
    detail = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return RUNTIME, f"unexpected error ({detail}); run with --debug for the traceback"


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else ""


def _validation(error: Any) -> tuple[int, str]:
    """pydantic's ValidationError: name the variable, never echo the value
    (it can be a secret such as COMPASS_SECRETS_KEY)."""
    parts = []
    for item in error.errors(include_input=False, include_url=False):
        message = item["msg"].removeprefix("Value error, ")
        location = item.get("loc") or ()
        parts.append(f"{flag_and_variable(str(location[0]))}: {message}" if location else message)
    return CONFIGURATION, "invalid settings: " + "; ".join(parts)


def _compass_error(error: Any) -> tuple[int, str]:
    from compass.errors import InvalidData

    status = CONFIGURATION if isinstance(error, InvalidData) else RUNTIME
    return status, error.message


def _configuration(error: BaseException) -> tuple[int, str]:
    return CONFIGURATION, _first_line(str(error))


def _database_error(error: Any) -> tuple[int, str]:
    """The driver's own words, without the statement (it can hold values)."""
    return RUNTIME, f"database error: {_first_line(str(error.orig or error))}"


def _os_error(error: Any) -> tuple[int, str]:
    where = f" {error.filename}" if error.filename else ""
    return RUNTIME, f"{error.strerror or error}:{where}".rstrip(":")


def _explainers() -> list[tuple[type[BaseException], Any]]:
    """Imported when an error is described, so a run that succeeds never pays for them."""
    from pydantic import ValidationError
    from sqlalchemy.exc import DBAPIError

    from compass.errors import CompassError
    from compass.pki.authority import CertificateAuthorityError
    from compass.pki.jwt_keys import SigningKeyError

    return [
        (ValidationError, _validation),
        (CertificateAuthorityError, _configuration),
        (SigningKeyError, _configuration),
        (CompassError, _compass_error),
        (DBAPIError, _database_error),
        (OSError, _os_error),
    ]


def _traceback_wanted(debug: Callable[[], bool]) -> bool:
    # Read here rather than through Settings: the settings may be what failed.
    return debug() or os.environ.get("COMPASS_LOG_LEVEL", "").lower() == "debug"


def _usage_line(error: Any) -> str:
    context = getattr(error, "ctx", None)
    command = context.command_path if context is not None else "compass"
    line = f"{command}: {error.format_message()}"
    return f"{line} (see '{command} --help')" if context is not None else line


def run_app(app: Any, argv: list[str] | None, debug: Callable[[], bool]) -> None:
    """Run the typer `app` and exit: 0, or the status and one line of `describe`;
    `debug()` says whether `--debug` asked for the traceback as well."""
    import typer

    try:
        status = app(args=argv, prog_name="compass", standalone_mode=False)
    except typer.TyperException as error:  # usage errors: unknown option, bad value
        if type(error).__name__ == "NoArgsIsHelpError":  # `compass` alone: the help
            error.show()
        else:
            typer.echo(_usage_line(error), err=True)
        sys.exit(error.exit_code)
    except typer.Abort:
        typer.echo("compass: aborted", err=True)
        sys.exit(RUNTIME)
    except Exception as error:
        status, line = describe(error)
        if _traceback_wanted(debug):
            traceback.print_exception(error)
        typer.echo(f"compass: {line}", err=True)
        sys.exit(status)
    sys.exit(status if isinstance(status, int) else 0)
