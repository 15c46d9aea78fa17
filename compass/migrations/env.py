"""Alembic environment: runs revisions on the async engine compass uses."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import compass.domain.tables  # noqa: F401  (fills the metadata)
from compass.db import create_engine
from compass.migrate import database_url_from

target_metadata = SQLModel.metadata


# Any fixed number, the same in every replica: pg_advisory_xact_lock's key.
_MIGRATION_LOCK = 0x636F6D70617373


def _run(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Replicas starting together upgrade one after the other; the lock ends
        # with the transaction, and the next one finds the schema current.
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run() -> None:
    url = database_url_from(context.config)
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url))


run()
