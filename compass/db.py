"""Database engine, session factory and the column types shared by all tables."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from compass.config import DATABASE_POOL_OVERFLOW
from compass.errors import CompassError, InvalidData, InvalidOperation, NotUnique

__all__ = [
    "POOL_TIMEOUT",
    "UTCDateTime",
    "JSONText",
    "create_engine",
    "create_session_factory",
    "dump_json",
    "integrity_error_to_compass",
    "utcnow",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


def dump_json(value: Any) -> str:
    """Canonical JSON text, so equal values compare equal in SQL."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JSONText(sa.TypeDecorator[Any]):
    """JSON stored as canonical text: portable, and comparable with `=`."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        return None if value is None else dump_json(value)

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> Any:
        return None if value is None else json.loads(value)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """Foreign keys on; WAL, so readers never block the writer; and a busy
    timeout, so concurrent writers wait for each other instead of failing."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


# Seconds a request waits for a pooled connection. Under a burst of clients
# (100 at once on a busy host) SQLAlchemy's 30 s made waiting requests fail with
# an internal error; they queue instead, so clients see latency, not errors.
POOL_TIMEOUT = 300.0


def create_engine(url: str, pool_size: int | None = None, **kwargs: Any) -> AsyncEngine:
    """Statement parameters stay out of error messages and logs: they can hold
    credentials (a webhook's password, an instance auth). `pool_size`: the
    connections kept open (SQLAlchemy's 5 if None); one that a peak opened
    beyond them is closed when returned, so a pool smaller than the requests
    running at once connects anew for many of them."""
    if make_url(url).database not in (None, "", ":memory:"):
        kwargs.setdefault("pool_timeout", POOL_TIMEOUT)
        kwargs.setdefault("max_overflow", DATABASE_POOL_OVERFLOW)
        if pool_size is not None:
            kwargs.setdefault("pool_size", pool_size)
    engine = create_async_engine(url, hide_parameters=True, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
    return engine


def create_session_factory(
    engine: AsyncEngine, info: dict[str, Any] | None = None
) -> async_sessionmaker[AsyncSession]:
    """`info` starts every session's `info` (the app puts its live-event bus there)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False, info=info)


# Constraints that state a rule of their own (PostgreSQL names the index,
# SQLite the columns).
_CONSTRAINT_REFUSALS = (
    (
        ("uq_provisioning_operations_active", "provisioning_operations.runtime_id"),
        lambda: InvalidOperation("the runtime already has an operation in progress"),
    ),
)


def integrity_error_to_compass(error: IntegrityError) -> CompassError:
    """The one place where driver constraint errors become Compass errors."""
    text = str(error.orig).lower()
    for markers, refusal in _CONSTRAINT_REFUSALS:
        if any(marker in text for marker in markers):
            return refusal()
    if "unique" in text or "duplicate" in text:
        return NotUnique("an object with these unique values already exists")
    if "foreign key" in text:
        return InvalidData("a referenced object does not exist")
    return InvalidData("the data violates a database constraint")
