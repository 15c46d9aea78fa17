"""Live configuration events for GraphQL subscriptions.

Events are staged in the transaction of the change that caused them and
reach subscribers only when it commits (never for a rolled-back change):

- on PostgreSQL with `pg_notify` inside the transaction, which the database
  delivers at commit to every server process LISTENing, this one included,
  so all replicas' subscribers see every event once;
- on SQLite (one process) in the session until its `after_commit`.

Subscribers get bounded queues: a subscriber that stops reading loses the
oldest events rather than holding memory without end.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

__all__ = ["LIVE_KEY", "LiveBus", "create_live_bus", "stage_live_event", "topic"]

log = logging.getLogger("compass.live")

LIVE_KEY = "compass.live"  # session.info: the bus of the app the session belongs to
_PENDING_KEY = "compass.live.pending"
CHANNEL = "compass_live"
QUEUE_SIZE = 1000
RECONNECT_DELAY = 1.0


def topic(tenant_id: str, kind: str, object_id: str) -> str:
    return f"{tenant_id}:{kind}:{object_id}"


class LiveBus:
    """Subscribers of this process, by topic."""

    uses_database = False

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}

    @contextmanager
    def subscription(self, name: str) -> Iterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.setdefault(name, set()).add(queue)
        try:
            yield queue
        finally:
            self._subscribers[name].discard(queue)
            if not self._subscribers[name]:
                del self._subscribers[name]

    def deliver(self, name: str, body: dict[str, Any]) -> None:
        for queue in self._subscribers.get(name, ()):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(body)

    async def stage(self, session: AsyncSession, name: str, body: dict[str, Any]) -> None:
        session.info.setdefault(_PENDING_KEY, []).append((name, body))

    async def start(self) -> None:
        """Nothing to connect to in one process."""

    async def stop(self) -> None:
        """Nothing to disconnect."""


class PostgresLiveBus(LiveBus):
    """Fans events out to every server process through LISTEN/NOTIFY."""

    uses_database = True

    def __init__(self, database_url: str) -> None:
        super().__init__()
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def stage(self, session: AsyncSession, name: str, body: dict[str, Any]) -> None:
        payload = json.dumps({"topic": name, "event": body}, separators=(",", ":"))
        await session.execute(sa.select(sa.func.pg_notify(CHANNEL, payload)))

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="compass-live-listen")
        with suppress(TimeoutError):
            async with asyncio.timeout(10):
                await self._ready.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    def _received(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            message = json.loads(payload)
            self.deliver(message["topic"], message["event"])
        except (ValueError, KeyError):
            log.warning("ignored a malformed live event")

    async def _listen(self) -> None:
        import asyncpg

        while True:
            connection = None
            try:
                connection = await asyncpg.connect(self._dsn)
                await connection.add_listener(CHANNEL, self._received)
                self._ready.set()
                while not connection.is_closed():
                    await asyncio.sleep(RECONNECT_DELAY)
            except (OSError, asyncpg.PostgresError) as error:
                log.warning("live events: listening failed (%s); trying again", error)
            finally:
                if connection is not None and not connection.is_closed():
                    await connection.close()
            await asyncio.sleep(RECONNECT_DELAY)


def create_live_bus(database_url: str) -> LiveBus:
    if make_url(database_url).get_backend_name() == "postgresql":
        return PostgresLiveBus(database_url)
    return LiveBus()


async def stage_live_event(session: AsyncSession, name: str, body: dict[str, Any]) -> None:
    """Offers `body` to the subscribers of `name` once the session commits."""
    bus = session.info.get(LIVE_KEY)
    if bus is not None:
        await bus.stage(session, name, body)


@event.listens_for(Session, "after_commit")
def _publish_staged(session: Session) -> None:
    staged = session.info.pop(_PENDING_KEY, None)
    bus = session.info.get(LIVE_KEY)
    if staged and bus is not None:
        for name, body in staged:
            bus.deliver(name, body)


@event.listens_for(Session, "after_soft_rollback")
def _drop_staged(session: Session, _previous: Any) -> None:
    session.info.pop(_PENDING_KEY, None)
