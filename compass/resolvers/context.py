"""The per-request GraphQL context: caller, tenant, database session, loaders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError, InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from compass.auth.authenticate import TENANT_HEADER, resolve_tenant
from compass.auth.principal import ConsumerType, Principal
from compass.db import integrity_error_to_compass
from compass.domain.audience import EVERYONE, Audience
from compass.errors import CompassError
from compass.notifications.outbox import PENDING_FLAG
from compass.resolvers.loaders import Loaders
from compass.resolvers.state import AppState

__all__ = ["Context"]

T = TypeVar("T")
S = TypeVar("S")


class Context:
    def __init__(self, request: HTTPConnection, state: AppState) -> None:
        self.request = request
        self.state = state
        self.loaders = Loaders(self)
        self._session: AsyncSession | None = None
        # One session per request; GraphQL resolves sibling fields concurrently.
        self._lock = asyncio.Lock()
        self._principal: Principal | CompassError | None = None
        # Set by strawberry from a WebSocket's connection_init payload.
        self.connection_params: dict[str, Any] | None = None
        self._tenant_id: str | CompassError | None = None
        self._snapshot = False
        # Resolvers still running: the session outlives every one of them.
        self._running = 0
        self._settled = asyncio.Event()
        self._settled.set()

    @asynccontextmanager
    async def db(self) -> AsyncIterator[AsyncSession]:
        async with self._lock:
            if self._session is None:
                self._session = self.state.sessions()
            try:
                yield self._session
            except IntegrityError as error:
                raise integrity_error_to_compass(error) from error

    async def read_snapshot(self) -> None:
        """From here on the request reads one snapshot of the database, so that
        nested fields agree with their parents (a spec's data with its fetch
        request's status, written together by another transaction). For queries
        that write nothing, after authorization (which may commit a runtime's
        last-seen time). SQLite reads each statement on its own unless a
        transaction is open; PostgreSQL's default isolation takes a snapshot per
        statement."""
        async with self._lock:
            if self._snapshot:
                return
            self._snapshot = True
            if self._session is None:
                self._session = self.state.sessions()
            session = self._session
            if session.in_transaction():  # else nothing was read or written yet
                await session.commit()
            if session.bind.dialect.name == "postgresql":
                await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            else:
                await _begin_on_driver(session)

    async def transaction(self, work: Callable[[], Awaitable[T]]) -> T:
        """Runs one mutation: commit on success, roll back on any error."""
        try:
            result = await work()
            async with self.db() as session:
                await session.commit()
                wrote_outbox = session.info.pop(PENDING_FLAG, False)
            if wrote_outbox:
                self.state.outbox.wake()
            return result
        except BaseException:
            if self._session is not None:
                async with self._lock:
                    await self._session.rollback()
                    self._session.info.pop(PENDING_FLAG, None)
            raise

    async def run(
        self,
        service: Callable[[AsyncSession, str], S],
        work: Callable[[S], Awaitable[T]],
    ) -> T:
        """Calls `work` with `service` bound to this request's session and tenant."""
        tenant_id = await self.tenant_id()
        async with self.db() as session:
            return await work(service(session, tenant_id))

    async def track(self, work: Awaitable[T]) -> T:
        """Runs a resolver's awaitable; `close` waits until none is left running
        (GraphQL may finish an operation while a sibling field still loads)."""
        self._running += 1
        self._settled.clear()
        try:
            return await work
        finally:
            self._running -= 1
            if self._running == 0:
                self._settled.set()

    async def close(self) -> None:
        await self._settled.wait()
        async with self._lock:
            if self._session is not None:
                session, self._session = self._session, None
                # A subscription's client may leave while its session closes: the
                # connection's rollback still finishes, back into the pool.
                await asyncio.shield(_close_once(session))

    async def principal(self) -> Principal:
        if self._principal is None:
            try:
                async with self.db() as session:
                    self._principal = await self.state.authenticator.authenticate(
                        self.request, session, self._connection_param("Authorization")
                    )
            except CompassError as error:
                self._principal = error
        if isinstance(self._principal, CompassError):
            raise self._principal
        return self._principal

    async def audience(self) -> Audience:
        """What the caller may see: applications and runtimes see themselves."""
        principal = await self.principal()
        if principal.consumer_type is ConsumerType.APPLICATION:
            return Audience(application_id=principal.consumer_id)
        if principal.consumer_type is ConsumerType.RUNTIME:
            return Audience(runtime_id=principal.consumer_id)
        return EVERYONE

    async def tenant_id(self) -> str:
        """Internal ID of the request's tenant (Tenant header or the credential's)."""
        if self._tenant_id is None:
            principal = await self.principal()
            try:
                async with self.db() as session:
                    header = self.request.headers.get(TENANT_HEADER)
                    tenant = await resolve_tenant(
                        principal,
                        header or self._connection_param("Tenant"),
                        self.state.authenticator.tenants(session),
                    )
                self._tenant_id = tenant.id
            except CompassError as error:
                self._tenant_id = error
        if isinstance(self._tenant_id, CompassError):
            raise self._tenant_id
        return self._tenant_id

    async def credentials(self, scope: str, value: T) -> T | None:
        """Third parties' credentials, for callers with the scope of their family only."""
        return value if scope in (await self.principal()).scopes else None

    def _connection_param(self, name: str) -> str | None:
        params = self.connection_params or {}
        value = next((v for k, v in params.items() if k.lower() == name.lower()), None)
        return value if isinstance(value, str) else None

    def __getitem__(self, key: str) -> Any:
        # strawberry's integrations look up "request" and "response" by key.
        return getattr(self, key)


async def _begin_on_driver(session: AsyncSession) -> None:
    """SQLite's BEGIN sent straight to the driver's connection: one trip to its
    thread, where a statement through SQLAlchemy's cursor takes three."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    await raw.driver_connection.execute("BEGIN")


async def _close_once(session: AsyncSession) -> None:
    """Ends the session with one rollback. `session.close()` alone rolls the
    transaction back and then the pool resets the connection again: closing
    the connection first ends its transaction and skips that reset."""
    if session.in_transaction():
        try:
            connection = await session.connection()
        except InvalidRequestError:
            pass  # a transaction already failed: session.close() ends it
        else:
            await connection.close()
    await session.close()
