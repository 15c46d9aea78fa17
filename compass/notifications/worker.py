"""The worker that runs outbox rows after commit, with retries and backoff.

Handlers get the row's payload and do their own I/O and their own short
transactions; a handler that raises is retried later (exponential backoff)
until `max_attempts`, after which the row is dropped with its error logged.

While the database does not answer, the worker backs off (capped exponential
with jitter) and logs one warning line per step, not a traceback every poll;
it says so once when a pass works again.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from compass.db import utcnow
from compass.notifications.model import OutboxRow
from compass.notifications.outbox import OutboxRepository

__all__ = ["Handler", "OutboxWorker", "backoff_delay"]

log = logging.getLogger("compass.outbox")

Handler = Callable[[dict[str, Any]], Awaitable[None]]
# What an unreachable, missing or restarting database raises: drivers' connection
# errors arrive as OSError or wrapped by SQLAlchemy. Anything else is a bug and
# keeps its traceback.
_UNAVAILABLE = (OperationalError, InterfaceError, DBAPIError, OSError, TimeoutError)


def backoff_delay(failures: int, base: float, cap: float, jitter: float) -> float:
    """Seconds to wait after `failures` passes in a row failed: base * 2^(n-1),
    at most `cap`, of which `jitter` (0..1) keeps between half and all, so that
    replicas do not retry in step."""
    ceiling = min(cap, base * 2 ** max(0, failures - 1))
    return ceiling * (0.5 + jitter / 2)


def _reason(error: Exception) -> str:
    """The driver's own first line, without SQLAlchemy's statement and links."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig else error
    lines = str(cause).strip().splitlines()
    text = f"{type(cause).__name__}: {lines[0]}" if lines else type(cause).__name__
    return text[:200]


class OutboxWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        handlers: Mapping[str, Handler],
        *,
        clock: Callable[[], datetime] = utcnow,
        poll_interval: float = 2.0,
        lease: timedelta = timedelta(minutes=2),
        leases: Mapping[str, timedelta] | None = None,
        max_attempts: int = 6,
        batch: int = 20,
        max_backoff: float = 60.0,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._sessions = sessions
        self._handlers = dict(handlers)
        self._clock = clock
        self._poll_interval = poll_interval
        self._lease = lease
        # Kinds whose handlers may run longer than `lease` hold their rows longer.
        self._leases = dict(leases or {})
        self._max_attempts = max_attempts
        self._batch = batch
        self._max_backoff = max_backoff
        self._jitter = jitter
        self._failures = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Rows the background loop runs, each on its own: a slow one holds one
        # of `batch` slots, not the others.
        self._running: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """Run now instead of at the next poll (called after a commit wrote rows)."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="compass-outbox")

    async def stop(self) -> None:
        """Cancels the loop and the rows it runs; their leases run out and
        another worker takes them, as after a crash."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            # Cleared before the look, so that a wake-up during it is not lost.
            self._wake.clear()
            delay = await self.dispatch()
            try:
                # Not wait_for: on Python 3.11 it loses a cancel (stop()) that comes
                # while the wake-up completes, and stop() then waits forever.
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def dispatch(self) -> float:
        """Starts as many due rows as there are free slots, each on its own, and
        returns the seconds until the next look; a row that ends wakes the loop."""
        free = self._batch - len(self._running)
        try:
            claimed = await self._claim(free) if free > 0 else []
        except Exception as error:  # the loop must survive a broken database moment
            return self._backoff(error)
        self._working_again()
        for row, lease_until in claimed:
            task = asyncio.create_task(self._execute(row, lease_until), name="compass-outbox-row")
            self._running.add(task)
            task.add_done_callback(self._row_ended)
        return 0.0 if claimed and len(claimed) == free else self._poll_interval

    def _row_ended(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            # Recording the outcome failed (the database went away): the lease
            # runs out and the row is taken again.
            log.warning("outbox: a row's outcome was not recorded (%s)", _reason(error))
        self._wake.set()

    def _working_again(self) -> None:
        if self._failures:
            log.info("outbox: working again after %d failed passes", self._failures)
            self._failures = 0

    async def run_pass(self) -> float:
        """Runs what is due until nothing is, in the caller's task (a drain, for
        tests and tools); returns the seconds until the next pass."""
        try:
            while await self.run_once():
                pass
        except Exception as error:  # the loop must survive a broken database moment
            return self._backoff(error)
        self._working_again()
        return self._poll_interval

    def _backoff(self, error: Exception) -> float:
        self._failures += 1
        delay = backoff_delay(
            self._failures, self._poll_interval, self._max_backoff, self._jitter()
        )
        if isinstance(error, _UNAVAILABLE):
            log.warning(
                "outbox: the database is unavailable (%s); next try in %.1f s",
                _reason(error),
                delay,
            )
        else:
            log.exception("outbox pass failed; next try in %.1f s", delay)
        return delay

    async def run_once(self) -> int:
        """Runs the rows due now; returns how many were taken."""
        claimed = await self._claim()
        await asyncio.gather(*(self._execute(row, until) for row, until in claimed))
        return len(claimed)

    def _lease_of(self, kind: str) -> timedelta:
        return self._leases.get(kind, self._lease)

    async def _claim(self, limit: int | None = None) -> list[tuple[OutboxRow, datetime]]:
        """The rows taken (at most `limit`, default a batch), each with the end of its lease."""
        now = self._clock()
        claimed = []
        async with self._sessions() as session:
            repository = OutboxRepository(session)
            for row in await repository.due(now, limit or self._batch):
                lease = self._lease_of(row.kind)
                if await repository.claim(row, now, lease):
                    claimed.append((row, now + lease))
            await session.commit()
        return claimed

    def _deadline(self, kind: str) -> float:
        """A handler must end before its lease does, or another worker could run
        the row at the same time."""
        lease = self._lease_of(kind).total_seconds()
        return lease - min(10.0, lease / 10)

    async def _execute(self, row: OutboxRow, lease_until: datetime) -> None:
        handler = self._handlers.get(row.kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for outbox kind {row.kind!r}")
            async with asyncio.timeout(self._deadline(row.kind)):
                await handler(row.payload)
        except Exception as error:
            await self._failed(row, lease_until, error)
            return
        async with self._sessions() as session:
            await OutboxRepository(session).complete(row.id, lease_until)
            await session.commit()

    async def _failed(self, row: OutboxRow, lease_until: datetime, error: Exception) -> None:
        attempts = row.attempts + 1  # the claim counted this attempt in the table
        message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        async with self._sessions() as session:
            repository = OutboxRepository(session)
            if attempts >= self._max_attempts:
                log.error(
                    "outbox %s %s dropped after %d attempts: %s",
                    row.kind,
                    row.id,
                    attempts,
                    message,
                )
                await repository.complete(row.id, lease_until)
            else:
                delay = timedelta(seconds=min(300, 2**attempts))
                log.warning(
                    "outbox %s %s failed (attempt %d): %s", row.kind, row.id, attempts, message
                )
                await repository.retry_at(row.id, lease_until, self._clock() + delay, message)
            await session.commit()
