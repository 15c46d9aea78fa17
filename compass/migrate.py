"""Alembic, driven from compass settings: used by `compass serve` at start,
by `compass db ...` and by the tests.

Alembic itself is imported only when there is something to migrate: the heads
are read from the revision files and the database's revision with one query
(`compass.database_check`), so a server restarting on a current schema skips it.
"""

from __future__ import annotations

import ast
import asyncio
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compass.config import Settings
from compass.errors_cli import ConfigurationError, flag_and_variable

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "alembic_config",
    "current",
    "database_url_from",
    "downgrade",
    "head_revisions",
    "prepare_data_dir",
    "upgrade",
]

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_URL_OPTION = "compass_database_url"
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)


def alembic_config(settings: Settings) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes[_URL_OPTION] = settings.sqlalchemy_url()
    return config


def database_url_from(config: Config) -> str:
    url = config.attributes.get(_URL_OPTION)
    if url is None:
        url = Settings().sqlalchemy_url()
    return url


def head_revisions() -> set[str]:
    """Revisions no other revision builds on, read from the files in versions/."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (_MIGRATIONS / "versions").glob("*.py"):
        assignments = dict(_REVISION_LINE.findall(path.read_text()))
        if "revision" not in assignments:
            continue
        revisions.add(ast.literal_eval(assignments["revision"]))
        down = ast.literal_eval(assignments.get("down_revision", "None"))
        parents.update([down] if isinstance(down, str) else down or ())
    return revisions - parents


def _in_own_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Alembic's env runs its own event loop; keep it off any running one."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args)
    results: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.append(fn(*args))
        except BaseException as error:  # re-raised in the caller's thread
            errors.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return results[0]


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Bring the schema to `revision`; waits for a database that is still starting."""
    from compass.database_check import schema_revisions

    prepare_data_dir(settings)
    current_revisions = _in_own_thread(schema_revisions, settings)
    if revision in ("head", "heads") and current_revisions == head_revisions():
        return
    from alembic import command

    _in_own_thread(command.upgrade, alembic_config(settings), revision)


def prepare_data_dir(settings: Settings) -> None:
    """The data dir holds keys and, by default, the database with its secrets:
    created readable by its owner only (0700), the SQLite file 0600 (SQLite gives
    its journal files the same mode)."""
    data_dir = settings.data_dir
    where = f"point {flag_and_variable('data_dir')} at a writable directory"
    if data_dir.exists() and not data_dir.is_dir():
        raise ConfigurationError(f"data dir {data_dir} is not a directory; {where}")
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not os.access(data_dir, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
        if settings.database_url is None:
            database = data_dir / "compass.db"
            if not database.exists():
                os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
    except OSError as error:
        raise ConfigurationError(
            f"cannot use data dir {data_dir}: {error.strerror}; {where}"
        ) from error


def downgrade(settings: Settings, revision: str = "-1") -> None:
    from alembic import command

    _in_own_thread(command.downgrade, alembic_config(settings), revision)


def current(settings: Settings) -> None:
    from alembic import command

    _in_own_thread(command.current, alembic_config(settings))
