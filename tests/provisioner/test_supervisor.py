"""Supervision of local agents: one keeper per agent across server processes,
restarts of a dead agent, adoption of a running one, stop at shutdown. The
"agent" here is a sleeping process whose command line names its config file,
as a real agent's does."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from compass.config import DEFAULT_TENANT_ID
from compass.db import create_engine, create_session_factory, utcnow
from compass.domain.tenant.service import TenantService
from compass.provisioner.model import ProvisionedRuntimeRow
from compass.provisioner.supervisor import AgentFiles, AgentSupervisor, is_agent_process

LEASE = timedelta(seconds=30)
RUNTIME_ID = "0d9d5e1c-2f6b-4b53-9a51-6c1f0b7f2a10"


def sleeper(files: AgentFiles) -> list[str]:
    return [sys.executable, "-c", "import time; time.sleep(120)", str(files.config)]


@pytest.fixture
async def sessions(settings):
    engine = create_engine(settings.sqlalchemy_url())
    factory = create_session_factory(engine)
    async with factory() as session:
        await TenantService(session).ensure_default()
        session.add(
            ProvisionedRuntimeRow(
                runtime_id=RUNTIME_ID,
                tenant_id=DEFAULT_TENANT_ID,
                provider="local",
                supervised=True,
            )
        )
        await session.commit()
    yield factory
    await engine.dispose()


@pytest.fixture
def runtimes_dir(tmp_path) -> Path:
    config = tmp_path / "runtimes" / RUNTIME_ID / "agent.json"
    config.parent.mkdir(parents=True)
    config.write_text("{}")
    return tmp_path / "runtimes"


@pytest.fixture
def supervisors(sessions, runtimes_dir) -> Iterator[list[AgentSupervisor]]:
    made: list[AgentSupervisor] = []
    yield made
    for supervisor in made:  # whatever the test did, no sleeper outlives it
        for agent in supervisor._agents.values():
            if is_agent_process(agent.pid, supervisor.files(RUNTIME_ID)):
                os.kill(agent.pid, signal.SIGKILL)


def new_supervisor(supervisors, sessions, runtimes_dir, **kw) -> AgentSupervisor:
    supervisor = AgentSupervisor(
        sessions, runtimes_dir, lease=LEASE, command=sleeper, first_restart_delay=0, **kw
    )
    supervisors.append(supervisor)
    return supervisor


async def recorded(sessions) -> ProvisionedRuntimeRow:
    async with sessions() as session:
        row = await session.get(ProvisionedRuntimeRow, RUNTIME_ID)
        assert row is not None
        return row


def wait_gone(pid: int, files: AgentFiles) -> None:
    deadline = time.monotonic() + 10
    while is_agent_process(pid, files) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not is_agent_process(pid, files)


async def test_one_keeper_starts_the_agent_and_another_leaves_it(
    supervisors, sessions, runtimes_dir
):
    first = new_supervisor(supervisors, sessions, runtimes_dir)
    second = new_supervisor(supervisors, sessions, runtimes_dir)
    await first.run_once()
    await second.run_once()
    row = await recorded(sessions)
    assert row.supervisor == first.holder
    assert row.agent_pid == first.agent_pid(RUNTIME_ID)
    assert is_agent_process(row.agent_pid, first.files(RUNTIME_ID))
    assert second.agent_pid(RUNTIME_ID) is None


async def test_a_dead_agent_is_started_again(supervisors, sessions, runtimes_dir):
    keeper = new_supervisor(supervisors, sessions, runtimes_dir)
    await keeper.run_once()
    first_pid = keeper.agent_pid(RUNTIME_ID)
    assert first_pid is not None
    os.kill(first_pid, signal.SIGKILL)
    wait_gone(first_pid, keeper.files(RUNTIME_ID))
    await keeper.run_once()  # notices the exit; restart delay 0
    await keeper.run_once()
    restarted = keeper.agent_pid(RUNTIME_ID)
    assert restarted not in (None, first_pid)
    assert (await recorded(sessions)).agent_pid == restarted


async def test_a_running_agent_is_adopted_when_its_keeper_is_gone(
    supervisors, sessions, runtimes_dir
):
    crashed = new_supervisor(supervisors, sessions, runtimes_dir)
    await crashed.run_once()
    pid = crashed.agent_pid(RUNTIME_ID)
    # The crashed keeper never renews; the successor's clock is past its lease.
    successor = new_supervisor(
        supervisors, sessions, runtimes_dir, clock=lambda: utcnow() + 2 * LEASE
    )
    await successor.run_once()
    assert successor.agent_pid(RUNTIME_ID) == pid
    assert (await recorded(sessions)).supervisor == successor.holder
    await successor.run_once()
    assert successor.agent_pid(RUNTIME_ID) == pid  # adopted, not duplicated


async def test_shutdown_stops_the_agents_and_gives_up_the_leases(
    supervisors, sessions, runtimes_dir
):
    keeper = new_supervisor(supervisors, sessions, runtimes_dir)
    await keeper.run_once()
    pid = keeper.agent_pid(RUNTIME_ID)
    await keeper.stop()
    wait_gone(pid, keeper.files(RUNTIME_ID))
    row = await recorded(sessions)
    assert (row.supervisor, row.agent_pid) == (None, None)


async def test_ending_supervision_stops_the_agent(supervisors, sessions, runtimes_dir):
    keeper = new_supervisor(supervisors, sessions, runtimes_dir)
    await keeper.run_once()
    pid = keeper.agent_pid(RUNTIME_ID)
    await keeper.supervise(RUNTIME_ID, False)
    wait_gone(pid, keeper.files(RUNTIME_ID))
    assert await keeper.wait_stopped(RUNTIME_ID, timeout=5)
    await keeper.run_once()
    assert keeper.agent_pid(RUNTIME_ID) is None
