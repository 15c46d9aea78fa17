"""The outbox: side effects run after commit, once, with retries, and survive a
worker that dies while running one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from compass.db import create_engine, create_session_factory
from compass.notifications.model import OutboxRow
from compass.notifications.outbox import enqueue
from compass.notifications.worker import OutboxWorker


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
async def sessions(settings):
    engine = create_engine(settings.sqlalchemy_url())
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def _enqueue(sessions, payload: dict, commit: bool = True) -> None:
    async with sessions() as session:
        await enqueue(session, "job", payload)
        if commit:
            await session.commit()


async def _rows(sessions) -> list[OutboxRow]:
    async with sessions() as session:
        return list(await session.scalars(sa.select(OutboxRow)))


def _worker(sessions, handler, clock: Clock, **options) -> OutboxWorker:
    # Rows are written with the real time; the fake clock starts later than that.
    clock.now = datetime.now(UTC) + timedelta(seconds=1)
    return OutboxWorker(sessions, {"job": handler}, clock=clock, **options)


async def test_committed_row_runs_once_and_is_removed(sessions):
    seen: list[dict] = []

    async def handler(payload: dict) -> None:
        seen.append(payload)

    await _enqueue(sessions, {"n": 1})
    worker = _worker(sessions, handler, Clock())
    assert await worker.run_once() == 1
    assert await worker.run_once() == 0
    assert seen == [{"n": 1}]
    assert await _rows(sessions) == []


async def test_rolled_back_change_leaves_no_side_effect(sessions):
    await _enqueue(sessions, {"n": 1}, commit=False)
    assert await _rows(sessions) == []


async def test_failing_handler_is_retried_with_backoff_then_dropped(sessions):
    calls = 0

    async def handler(payload: dict) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("remote down")

    clock = Clock()
    await _enqueue(sessions, {"n": 1})
    worker = _worker(sessions, handler, clock, max_attempts=3)
    assert await worker.run_once() == 1
    [row] = await _rows(sessions)
    assert row.attempts == 1
    assert "remote down" in row.last_error
    assert await worker.run_once() == 0  # not due before its backoff ends
    clock.advance(seconds=3)
    assert await worker.run_once() == 1
    clock.advance(seconds=5)
    assert await worker.run_once() == 1
    assert calls == 3
    assert await _rows(sessions) == []


async def test_row_of_a_dead_worker_runs_again_after_its_lease(sessions):
    seen: list[dict] = []

    async def handler(payload: dict) -> None:
        seen.append(payload)

    clock = Clock()
    await _enqueue(sessions, {"n": 1})
    dead = _worker(sessions, handler, clock, lease=timedelta(seconds=30))
    claimed = await dead._claim()  # claims, then "dies" before running the handler
    assert len(claimed) == 1
    survivor = OutboxWorker(sessions, {"job": handler}, clock=clock, lease=timedelta(seconds=30))
    assert await survivor.run_once() == 0
    clock.advance(seconds=31)
    assert await survivor.run_once() == 1
    assert seen == [{"n": 1}]


async def test_two_workers_never_run_the_same_row(sessions):
    seen: list[int] = []

    async def handler(payload: dict) -> None:
        await asyncio.sleep(0.01)
        seen.append(payload["n"])

    for n in range(20):
        await _enqueue(sessions, {"n": n})
    clock = Clock()
    first = _worker(sessions, handler, clock, batch=5)
    second = OutboxWorker(sessions, {"job": handler}, clock=clock, batch=5)
    for _ in range(10):
        await asyncio.gather(first.run_once(), second.run_once())
    assert sorted(seen) == list(range(20))
    assert await _rows(sessions) == []


async def test_unknown_kind_is_retried_and_kept_visible(sessions):
    async with sessions() as session:
        await enqueue(session, "nobody-handles-this", {})
        await session.commit()
    worker = _worker(sessions, lambda payload: None, Clock(), max_attempts=5)
    assert await worker.run_once() == 1
    [row] = await _rows(sessions)
    assert "no handler" in row.last_error


async def test_stop_ends_the_worker_even_when_it_is_being_woken(sessions):
    worker = OutboxWorker(sessions, {}, poll_interval=60)
    worker.start()
    await asyncio.sleep(0.05)  # the worker waits for a wake-up
    task = worker._task
    worker.wake()
    await asyncio.sleep(0)  # the wake-up is done; the worker has not run on yet
    stopping = asyncio.ensure_future(worker.stop())
    done, _ = await asyncio.wait({stopping}, timeout=5)
    if not done:  # the worker ignored its cancel: end it for good before failing
        assert task is not None
        task.cancel()
        await asyncio.wait({stopping}, timeout=5)
    assert done, "stop() did not end the worker"


async def test_a_worker_whose_lease_ran_out_does_not_complete_the_next_holders_row(sessions):
    release_first = asyncio.Event()
    release_second = asyncio.Event()
    started: list[str] = []

    async def slow(payload: dict) -> None:
        started.append("run")
        await (release_first if len(started) == 1 else release_second).wait()

    await _enqueue(sessions, {"n": 1})
    first_clock, second_clock = Clock(), Clock()
    first = _worker(sessions, slow, first_clock, lease=timedelta(minutes=2))
    second = _worker(sessions, slow, second_clock, lease=timedelta(minutes=2))
    running = asyncio.ensure_future(first.run_once())
    while not started:
        await asyncio.sleep(0.01)
    second_clock.advance(minutes=5)  # the first worker's lease is over
    taken_over = asyncio.ensure_future(second.run_once())
    while len(started) < 2:
        await asyncio.sleep(0.01)
    release_first.set()
    assert await running == 1
    assert len(await _rows(sessions)) == 1, "the first worker completed a row it no longer held"
    release_second.set()
    assert await taken_over == 1
    assert await _rows(sessions) == []


async def test_a_handler_that_outlives_its_deadline_is_a_failed_attempt(sessions):
    async def stuck(payload: dict) -> None:
        await asyncio.sleep(60)

    await _enqueue(sessions, {"n": 1})
    worker = _worker(sessions, stuck, Clock(), lease=timedelta(seconds=1))
    assert await worker.run_once() == 1
    [row] = await _rows(sessions)
    assert row.attempts == 1
    assert "TimeoutError" in row.last_error


async def test_a_slow_row_does_not_hold_back_rows_that_come_after_it(sessions):
    release, first_started = asyncio.Event(), asyncio.Event()
    done: list[int] = []

    async def handler(payload: dict) -> None:
        if payload["n"] == 1:
            first_started.set()
            await release.wait()
        done.append(payload["n"])

    worker = OutboxWorker(sessions, {"job": handler}, poll_interval=60)
    await _enqueue(sessions, {"n": 1})
    worker.start()
    try:
        await asyncio.wait_for(first_started.wait(), timeout=60)
        await _enqueue(sessions, {"n": 2})
        worker.wake()
        for _ in range(600):  # bounded: 60 s at most
            if done:
                break
            await asyncio.sleep(0.1)
        assert done == [2], "the second row waited for the first"
        release.set()
        for _ in range(600):
            if len(done) == 2:
                break
            await asyncio.sleep(0.1)
        assert done == [2, 1]
    finally:
        release.set()
        await worker.stop()
    assert await _rows(sessions) == []


async def test_stop_cancels_the_rows_it_runs(sessions):
    started = asyncio.Event()

    async def stuck(payload: dict) -> None:
        started.set()
        await asyncio.sleep(3600)

    worker = OutboxWorker(sessions, {"job": stuck}, poll_interval=60)
    await _enqueue(sessions, {"n": 1})
    worker.start()
    await asyncio.wait_for(started.wait(), timeout=60)
    await asyncio.wait_for(worker.stop(), timeout=60)
    [row] = await _rows(sessions)  # left leased: another worker runs it after the lease
    assert row.attempts == 1
