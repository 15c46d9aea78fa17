"""Shared fixtures: a migrated database per test (SQLite by default, PostgreSQL
when COMPASS_TEST_DATABASE_URL is set), the real app over httpx's ASGI
transport, and tokens signed with the app's own key."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from compass import migrate
from compass.app import create_app
from compass.auth.scopes import ADMIN_SCOPES
from compass.auth.tokens import mint_user_token
from compass.config import DEFAULT_TENANT_ID, Settings
from compass.db import create_engine
from compass.pki.jwt_keys import load_or_create_signing_key

TEST_DATABASE_URL = os.environ.get("COMPASS_TEST_DATABASE_URL")


async def _postgres_admin(url: str, statement: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(sa.text(statement))
    finally:
        await engine.dispose()


# Fixtures through which a test reaches the database the suite is pointed at.
_SUITE_DATABASE_FIXTURES = frozenset({"settings", "migrated_database", "postgres_url"})


def _uses_suite_database(item: pytest.Item) -> bool:
    if item.get_closest_marker("uses_test_database"):
        return True
    return bool(_SUITE_DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL run leaves out the tests that never reach PostgreSQL (their
    servers run on SQLite, or they use no database): the SQLite run has run them."""
    if TEST_DATABASE_URL is None:
        return
    repeated = [item for item in items if not _uses_suite_database(item)]
    if repeated:
        config.hook.pytest_deselected(items=repeated)
        items[:] = [item for item in items if _uses_suite_database(item)]


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated once per session: a SQLite template file, or a
    PostgreSQL database of its own created beside the configured one."""
    import asyncio

    if TEST_DATABASE_URL is None:
        template = tmp_path_factory.mktemp("template")
        migrate.upgrade(Settings(data_dir=template))
        yield str(template / "compass.db")
        return
    base = make_url(TEST_DATABASE_URL)
    name = f"compass_test_{uuid.uuid4().hex[:10]}"
    admin_url = base.render_as_string(hide_password=False)
    asyncio.run(_postgres_admin(admin_url, f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(Settings(data_dir=tmp_path_factory.mktemp("pg"), database_url=url))
        yield url
    finally:
        asyncio.run(_postgres_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _all_tables() -> str:
    from sqlmodel import SQLModel

    import compass.domain.tables  # noqa: F401  (fills the metadata)

    return ", ".join(table.name for table in SQLModel.metadata.sorted_tables)


@pytest.fixture
async def settings(tmp_path: Path, migrated_database: str) -> Settings:
    """Settings for one test, with an empty migrated database of its own."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    # Test servers (spec files, webhook receivers) listen on loopback.
    loopback = ["127.0.0.1/32"]
    if TEST_DATABASE_URL is None:
        shutil.copy(migrated_database, data_dir / "compass.db")
        return Settings(data_dir=data_dir, egress_allowed_networks=loopback)
    engine = create_engine(migrated_database)
    try:
        async with engine.begin() as connection:
            await connection.execute(sa.text(f"TRUNCATE {_all_tables()} CASCADE"))
    finally:
        await engine.dispose()
    return Settings(
        data_dir=data_dir, database_url=migrated_database, egress_allowed_networks=loopback
    )


@dataclass
class Api:
    """Talks GraphQL to the app like a client would."""

    client: httpx.AsyncClient
    settings: Settings
    token: str = ""
    default_headers: dict[str, str] = field(default_factory=dict)

    def mint(
        self,
        tenant: str | None = DEFAULT_TENANT_ID,
        scopes: list[str] | None = None,
        lifetime: timedelta = timedelta(hours=1),
        subject: str = "tester",
    ) -> str:
        key = load_or_create_signing_key(self.settings.jwt_key_path())
        return mint_user_token(
            key,
            subject=subject,
            tenant=tenant,
            scopes=list(ADMIN_SCOPES) if scopes is None else scopes,
            lifetime=lifetime,
        )

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
        tenant: str | None = None,
        path: str = "/graphql",
    ) -> dict[str, Any]:
        headers = dict(self.default_headers)
        bearer = self.token if token is None else token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        if tenant is not None:
            headers["Tenant"] = tenant
        response = await self.client.post(
            path, json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def data(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
        """The `data` of a request that must succeed."""
        body = await self.post(query, variables, **kw)
        assert "errors" not in body, body
        return body["data"]

    async def error(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> dict:
        """The single error of a request that must fail."""
        body = await self.post(query, variables, **kw)
        assert body.get("errors"), body
        assert len(body["errors"]) == 1, body
        return body["errors"][0]


def error_code(error: dict[str, Any]) -> int:
    return error["extensions"]["error_code"]


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def api(app: Any, settings: Settings) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://compass.test") as client:
        result = Api(client, settings)
        result.token = result.mint()
        yield result
