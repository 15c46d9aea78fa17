"""The outbox worker while the database does not answer: it backs off, capped,
with one warning line per step and no traceback, and is back to its poll
interval once the database answers again."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from compass.db import create_engine, create_session_factory
from compass.notifications.outbox import enqueue
from compass.notifications.worker import OutboxWorker, backoff_delay

POLL = 2.0
CAP = 30.0


class SwitchableSessions:
    """Sessions of the test database, or of one that cannot be opened while `down`."""

    def __init__(self, working, broken) -> None:
        self.working = working
        self.broken = broken
        self.down = True

    def __call__(self):
        return (self.broken if self.down else self.working)()


@pytest.fixture
async def sessions(settings, tmp_path: Path):
    working_engine = create_engine(settings.sqlalchemy_url())
    # A file in a directory that does not exist: every connection fails.
    broken_engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'compass.db'}")
    try:
        yield SwitchableSessions(
            create_session_factory(working_engine), create_session_factory(broken_engine)
        )
    finally:
        await working_engine.dispose()
        await broken_engine.dispose()


def test_backoff_doubles_up_to_the_cap_and_keeps_half_to_all_of_it():
    ceilings = [backoff_delay(n, POLL, CAP, jitter=1.0) for n in range(1, 8)]
    assert ceilings == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert backoff_delay(3, POLL, CAP, jitter=0.0) == 4.0
    assert backoff_delay(3, POLL, CAP, jitter=0.5) == 6.0


async def test_unreachable_database_backs_off_with_one_line_per_step(sessions, caplog):
    ran: list[dict] = []

    async def handler(payload: dict) -> None:
        ran.append(payload)

    worker = OutboxWorker(
        sessions, {"job": handler}, poll_interval=POLL, max_backoff=CAP, jitter=lambda: 1.0
    )
    caplog.set_level(logging.INFO, logger="compass.outbox")
    delays = [await worker.run_pass() for _ in range(6)]
    assert delays == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    records = [r for r in caplog.records if r.name == "compass.outbox"]
    assert len(records) == 6
    for record in records:
        assert record.levelno == logging.WARNING
        assert record.exc_info is None
        message = record.getMessage()
        assert "\n" not in message
        assert message.startswith("outbox: the database is unavailable (OperationalError: ")
        assert "unable to open database file" in message
    assert "next try in 30.0 s" in records[-1].getMessage()
    assert "Traceback" not in caplog.text

    caplog.clear()
    sessions.down = False
    async with sessions() as session:
        await enqueue(session, "job", {"n": 1})
        await session.commit()
    assert await worker.run_pass() == POLL
    assert ran == [{"n": 1}]
    assert [r.getMessage() for r in caplog.records if r.name == "compass.outbox"] == [
        "outbox: working again after 6 failed passes"
    ]
    caplog.clear()
    assert await worker.run_pass() == POLL
    assert not [r for r in caplog.records if r.name == "compass.outbox"]


async def test_a_failure_that_is_not_the_database_keeps_its_traceback(settings, caplog):
    class Broken:
        def __call__(self):
            raise RuntimeError("a bug")

    worker = OutboxWorker(Broken(), {}, poll_interval=POLL, jitter=lambda: 1.0)
    assert await worker.run_pass() == POLL
    (record,) = [r for r in caplog.records if r.name == "compass.outbox"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert "next try in 2.0 s" in record.getMessage()


async def test_the_background_loop_backs_off_the_same_way(sessions):
    worker = OutboxWorker(sessions, {}, poll_interval=POLL, max_backoff=CAP, jitter=lambda: 1.0)
    assert [await worker.dispatch() for _ in range(3)] == [2.0, 4.0, 8.0]
    sessions.down = False
    assert await worker.dispatch() == POLL
