"""Reaching the database before anything else uses it.

`compass serve` and the `db` and `tenant` commands start here: a database
that does not answer yet (a container still starting) is retried with backoff
for `database_start_timeout` seconds; one that answers with a refusal (no such
database, wrong password) is reported at once. The same connection reads the
schema's revision, so a server whose schema is current never loads Alembic.
Core SQL only: commands that merely read stay off the ORM models.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_delay,
    wait_exponential,
)

from compass.config import Settings
from compass.db import create_engine
from compass.errors_cli import ConfigurationError, RuntimeFailure

__all__ = ["schema_revisions", "tenant_exists"]

log = logging.getLogger("compass.database")

# PostgreSQL says "the database system is starting up" / "shutting down".
_NOT_READY_STATES = {"57P03", "57P01"}


def safe_url(settings: Settings) -> str:
    """The database URL as it may be shown: without its password."""
    return make_url(settings.sqlalchemy_url()).render_as_string(hide_password=True)


def _not_answering(error: BaseException) -> bool:
    if isinstance(error, OSError | TimeoutError):
        return True
    state = getattr(getattr(error, "orig", None), "sqlstate", None)
    return isinstance(error, DBAPIError) and state in _NOT_READY_STATES


def _log_attempt(url: str) -> Any:
    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "database %s does not answer (%s); attempt %d, next in %.1f s",
            url,
            _reason(error),
            state.attempt_number,
            state.upcoming_sleep,
        )

    return before_sleep


def _reason(error: BaseException | None) -> str:
    if error is None:
        return "no answer"
    orig = getattr(error, "orig", None)
    text = str(orig if orig is not None else error).strip().splitlines()
    return text[0] if text else type(error).__name__


async def _with_connection(settings: Settings, work: Any) -> Any:
    """Run `work(connection)` on a connection obtained within the start timeout."""
    url, timeout = safe_url(settings), settings.database_start_timeout
    engine = create_engine(settings.sqlalchemy_url())
    retrying = AsyncRetrying(
        retry=retry_if_exception(_not_answering),
        stop=stop_after_delay(timeout),
        wait=wait_exponential(multiplier=0.25, max=5),
        before_sleep=_log_attempt(url),
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                # One attempt may not outlast the whole budget (asyncpg waits 60 s).
                async with asyncio.timeout(max(timeout, 1.0)):
                    async with engine.connect() as connection:
                        return await work(connection)
    except DBAPIError as error:
        if _not_answering(error):
            raise _gave_up(url, timeout, error) from error
        raise ConfigurationError(f"cannot use database {url}: {_reason(error)}") from error
    except (OSError, TimeoutError) as error:
        raise _gave_up(url, timeout, error) from error
    finally:
        await engine.dispose()


def _gave_up(url: str, timeout: float, error: BaseException) -> RuntimeFailure:
    return RuntimeFailure(
        f"database {url} did not answer within {timeout:g} s ({_reason(error)}); "
        "check --database-url / COMPASS_DATABASE_URL or raise COMPASS_DATABASE_START_TIMEOUT"
    )


async def _revisions(connection: Any) -> set[str]:
    exists = await connection.run_sync(lambda sync: sa.inspect(sync).has_table("alembic_version"))
    if not exists:
        return set()
    rows = await connection.execute(sa.text("SELECT version_num FROM alembic_version"))
    return {row[0] for row in rows}


def schema_revisions(settings: Settings) -> set[str]:
    """The revisions the database's schema is at (empty for a new database)."""
    return asyncio.run(_with_connection(settings, _revisions))


def tenant_exists(settings: Settings, reference: str) -> bool:
    """Whether a tenant has this internal or external ID."""

    async def lookup(connection: Any) -> bool:
        statement = sa.text("SELECT 1 FROM tenants WHERE id = :ref OR external_id = :ref")
        return (await connection.execute(statement, {"ref": reference})).first() is not None

    return asyncio.run(_with_connection(settings, lookup))
