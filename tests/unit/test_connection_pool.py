"""The server's connection pool: `database_pool_size` connections are kept and
reused; a peak beyond them opens connections that are closed when returned."""

from __future__ import annotations

import contextlib
from functools import partial
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import event

from compass.app import create_app
from compass.config import DATABASE_POOL_OVERFLOW, Settings
from compass.db import create_engine
from tests.conftest import TEST_DATABASE_URL


def _database_urls(tmp_path: Path) -> list[str]:
    urls = [f"sqlite+aiosqlite:///{tmp_path / 'compass.db'}"]
    return urls + ([TEST_DATABASE_URL] if TEST_DATABASE_URL else [])


def _count(opened: list[object], connection: object, _record: object) -> None:
    opened.append(connection)


async def _hold_at_once(engine, count: int) -> None:
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(count):
            await stack.enter_async_context(engine.connect())


@pytest.mark.uses_test_database
async def test_connections_within_the_pool_size_are_reused_and_a_peak_beyond_is_closed(
    tmp_path: Path,
):
    for url in _database_urls(tmp_path):
        engine = create_engine(url, pool_size=3)
        opened: list[object] = []
        event.listen(engine.sync_engine, "connect", partial(_count, opened))
        try:
            for _ in range(3):
                await _hold_at_once(engine, 3)
            assert len(opened) == 3, url
            await _hold_at_once(engine, 5)
            await _hold_at_once(engine, 5)
            assert len(opened) == 3 + 2 + 2, url  # the two beyond the pool, twice
            assert engine.pool._max_overflow == DATABASE_POOL_OVERFLOW  # type: ignore[attr-defined]
        finally:
            await engine.dispose()


async def test_the_server_engine_has_the_pool_size_of_the_settings(settings: Settings):
    app = create_app(settings.model_copy(update={"database_pool_size": 7}))
    async with app.router.lifespan_context(app):
        assert app.state.compass.engine.pool.size() == 7


def test_a_pool_size_below_one_is_refused(tmp_path: Path):
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        Settings(data_dir=tmp_path, database_pool_size=0)
    assert Settings(data_dir=tmp_path).database_pool_size == 20
