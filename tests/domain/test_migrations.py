"""The migrations build exactly the tables the models describe, and revert cleanly."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import compass.domain.tables  # noqa: F401  (fills the metadata)
from compass import migrate
from compass.config import Settings
from compass.db import create_engine


def _differences(connection: sa.Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return compare_metadata(context, SQLModel.metadata)


def _state(connection: sa.Connection) -> tuple[set[str], str | None]:
    tables = set(sa.inspect(connection).get_table_names())
    revision = MigrationContext.configure(connection).get_current_revision()
    return tables, revision


async def _run(settings: Settings, fn: Any) -> Any:
    engine = create_engine(settings.sqlalchemy_url())
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(fn)
    finally:
        await engine.dispose()


def _head(settings: Settings) -> str:
    head = ScriptDirectory.from_config(migrate.alembic_config(settings)).get_current_head()
    assert head is not None
    return head


async def test_migrated_database_matches_the_models(settings: Settings):
    differences = await _run(settings, _differences)
    assert differences == [], f"migrations and models differ: {differences}"


async def test_downgrade_to_base_and_upgrade_again(settings: Settings):
    model_tables = set(SQLModel.metadata.tables)
    tables, revision = await _run(settings, _state)
    assert revision == _head(settings)
    assert model_tables <= tables

    migrate.downgrade(settings, "base")
    tables, revision = await _run(settings, _state)
    assert revision is None
    assert not (model_tables & tables), f"left after downgrade: {model_tables & tables}"

    migrate.upgrade(settings)
    tables, revision = await _run(settings, _state)
    assert revision == _head(settings)
    assert model_tables <= tables
    assert await _run(settings, _differences) == []


def test_a_new_data_dir_and_database_are_private(tmp_path):
    settings = Settings(data_dir=tmp_path / "fresh" / "data")
    migrate.upgrade(settings)
    assert (settings.data_dir.stat().st_mode & 0o777) == 0o700
    assert ((settings.data_dir / "compass.db").stat().st_mode & 0o777) == 0o600
