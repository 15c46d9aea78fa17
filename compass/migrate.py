"""Alembic, driven from compass settings: used by `compass serve` at start,
by `compass db ...` and by the tests."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config

from compass.config import Settings

__all__ = ["alembic_config", "upgrade", "downgrade", "current", "database_url_from"]

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_URL_OPTION = "compass_database_url"


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes[_URL_OPTION] = settings.sqlalchemy_url()
    return config


def database_url_from(config: Config) -> str:
    url = config.attributes.get(_URL_OPTION)
    if url is None:
        url = Settings().sqlalchemy_url()
    return url


def _in_own_thread(fn, *args) -> None:
    """Alembic's env runs its own event loop; keep it off any running one."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        fn(*args)
        return
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn(*args)
        except BaseException as error:  # re-raised in the caller's thread
            errors.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def upgrade(settings: Settings, revision: str = "head") -> None:
    _prepare_data_dir(settings)
    _in_own_thread(command.upgrade, alembic_config(settings), revision)


def _prepare_data_dir(settings: Settings) -> None:
    """The data dir holds keys and, by default, the database with its secrets:
    created readable by its owner only (0700), the SQLite file 0600 (SQLite gives
    its journal files the same mode)."""
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if settings.database_url is None:
        database = settings.data_dir / "compass.db"
        if not database.exists():
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))


def downgrade(settings: Settings, revision: str = "-1") -> None:
    _in_own_thread(command.downgrade, alembic_config(settings), revision)


def current(settings: Settings) -> None:
    _in_own_thread(command.current, alembic_config(settings))
