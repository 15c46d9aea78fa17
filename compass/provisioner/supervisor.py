"""Keeps the local runtime agents running: one supervisor per server process.

Each supervised runtime is leased to one server process at a time (a row
lease renewed every tick), so with several replicas every agent has exactly
one keeper, and a keeper that dies is replaced when its lease runs out. The
keeper starts the agent, restarts it with backoff when it exits, adopts a
still-running agent left by a crashed predecessor (found by its PID and
command line) instead of starting a second one, and stops its agents when
the server shuts down.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from compass.db import utcnow
from compass.provisioner.repository import SupervisionRepository

__all__ = ["AgentFiles", "AgentSupervisor", "agent_command", "agent_files", "is_agent_process"]

log = logging.getLogger("compass.provisioner.supervisor")

STOP_TIMEOUT = 10.0
MAX_RESTART_DELAY = 30.0
# An agent that ran this long was healthy: its next exit starts the backoff anew.
HEALTHY_RUN = 60.0


@dataclass(frozen=True)
class AgentFiles:
    directory: Path

    @property
    def config(self) -> Path:
        return self.directory / "agent.json"

    @property
    def state_dir(self) -> Path:
        return self.directory / "state"

    @property
    def log(self) -> Path:
        return self.directory / "agent.log"


def agent_files(runtimes_dir: Path, runtime_id: str) -> AgentFiles:
    return AgentFiles(runtimes_dir / runtime_id)


def agent_command(files: AgentFiles) -> list[str]:
    return [sys.executable, "-m", "compass.cli", "agent", "run", "--config", str(files.config)]


def is_agent_process(pid: int, files: AgentFiles) -> bool:
    """The process exists, is not a zombie, and runs this runtime's agent."""
    proc = Path(f"/proc/{pid}")
    try:
        if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
        return str(files.config).encode() in (proc / "cmdline").read_bytes()
    except (OSError, IndexError):
        return False


@dataclass
class _Agent:
    pid: int
    process: subprocess.Popen[bytes] | None  # None: adopted from a previous server
    started: float = field(default_factory=time.monotonic)

    def alive(self, files: AgentFiles) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        return is_agent_process(self.pid, files)


@dataclass
class _Backoff:
    failures: int = 0
    not_before: float = 0.0


class AgentSupervisor:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        runtimes_dir: Path,
        *,
        lease: timedelta,
        tick: float = 1.0,
        clock: Callable[[], datetime] = utcnow,
        command: Callable[[AgentFiles], list[str]] | None = None,
        first_restart_delay: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._runtimes_dir = runtimes_dir
        self._lease = lease
        self._tick = tick
        self._clock = clock
        self._command = command or agent_command
        self._first_restart_delay = first_restart_delay
        self.holder = f"{os.uname().nodename[:20]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._agents: dict[str, _Agent] = {}
        self._backoff: dict[str, _Backoff] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def files(self, runtime_id: str) -> AgentFiles:
        return agent_files(self._runtimes_dir, runtime_id)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="compass-agent-supervisor")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        """Server shutdown: the agents stop with it and the leases are given up."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        for runtime_id in list(self._agents):
            await asyncio.to_thread(self._stop_agent, runtime_id)
        try:
            async with self._sessions() as session:
                await SupervisionRepository(session).release(self.holder, keep_pids=False)
                await session.commit()
        except Exception:  # the database may be gone at shutdown; leases then expire
            log.warning("could not release agent leases at shutdown", exc_info=True)

    async def supervise(self, runtime_id: str, supervised: bool) -> None:
        """Starts (or ends) the supervision of a runtime's agent, committed at once."""
        async with self._sessions() as session:
            await SupervisionRepository(session).set_supervised(runtime_id, supervised)
            await session.commit()
        if not supervised and runtime_id in self._agents:
            await asyncio.to_thread(self._stop_agent, runtime_id)
            async with self._sessions() as session:
                await SupervisionRepository(session).set_pid(runtime_id, None)
                await session.commit()
        self.wake()

    async def wait_stopped(self, runtime_id: str, timeout: float) -> bool:
        """Waits (bounded) until no process, here or in another replica, runs the agent."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            async with self._sessions() as session:
                pid = await SupervisionRepository(session).agent_pid(runtime_id)
            if pid is None or not is_agent_process(pid, self.files(runtime_id)):
                return True
            await asyncio.sleep(0.2)
        return False

    def agent_pid(self, runtime_id: str) -> int | None:
        agent = self._agents.get(runtime_id)
        return None if agent is None else agent.pid

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # a database hiccup must not end supervision
                log.warning("agent supervision pass failed", exc_info=True)
            try:
                # Not wait_for: on Python 3.11 it can lose the cancel of stop().
                async with asyncio.timeout(self._tick):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()

    async def run_once(self) -> None:
        async with self._sessions() as session:
            repository = SupervisionRepository(session)
            await repository.claim(self.holder, self._clock(), self._lease)
            held = {row.runtime_id: row.agent_pid for row in await repository.held_by(self.holder)}
            await session.commit()
        for runtime_id in set(self._agents) - set(held):
            await asyncio.to_thread(self._stop_agent, runtime_id)
        for runtime_id, recorded_pid in held.items():
            pid = self._keep_running(runtime_id, recorded_pid)
            if pid != recorded_pid:
                async with self._sessions() as session:
                    await SupervisionRepository(session).set_pid(runtime_id, pid)
                    await session.commit()

    def _keep_running(self, runtime_id: str, recorded_pid: int | None) -> int | None:
        files = self.files(runtime_id)
        agent = self._agents.get(runtime_id)
        if agent is not None and agent.alive(files):
            return agent.pid
        if agent is None and recorded_pid is not None and is_agent_process(recorded_pid, files):
            log.info("runtime %s: adopted its running agent (pid %d)", runtime_id, recorded_pid)
            self._agents[runtime_id] = _Agent(recorded_pid, None)
            return recorded_pid
        if agent is not None:
            self._exited(runtime_id, agent)
        backoff = self._backoff.setdefault(runtime_id, _Backoff())
        if time.monotonic() < backoff.not_before:
            return None
        return self._launch(runtime_id, files)

    def _exited(self, runtime_id: str, agent: _Agent) -> None:
        del self._agents[runtime_id]
        code = agent.process.returncode if agent.process is not None else None
        backoff = self._backoff.setdefault(runtime_id, _Backoff())
        if time.monotonic() - agent.started >= HEALTHY_RUN:
            backoff.failures = 0
        backoff.failures += 1
        delay = min(MAX_RESTART_DELAY, self._first_restart_delay * 2.0 ** (backoff.failures - 1))
        delay *= random.uniform(0.8, 1.2)
        backoff.not_before = time.monotonic() + delay
        log.warning(
            "runtime %s: agent (pid %d) exited with %s; restarting in %.1f s",
            runtime_id,
            agent.pid,
            code,
            delay,
        )

    def _launch(self, runtime_id: str, files: AgentFiles) -> int | None:
        if not files.config.exists():
            log.error("runtime %s: no agent configuration at %s", runtime_id, files.config)
            return None
        with files.log.open("ab") as sink:
            process = subprocess.Popen(
                self._command(files),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._agents[runtime_id] = _Agent(process.pid, process)
        log.info("runtime %s: agent started (pid %d)", runtime_id, process.pid)
        return process.pid

    def _stop_agent(self, runtime_id: str) -> None:
        agent = self._agents.pop(runtime_id, None)
        if agent is None or not agent.alive(self.files(runtime_id)):
            return
        _signal(agent.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline and agent.alive(self.files(runtime_id)):
            time.sleep(0.1)
        if agent.alive(self.files(runtime_id)):
            _signal(agent.pid, signal.SIGKILL)
        if agent.process is not None:
            agent.process.wait(timeout=STOP_TIMEOUT)
        log.info("runtime %s: agent (pid %d) stopped", runtime_id, agent.pid)


def _signal(pid: int, number: int) -> None:
    try:
        os.kill(pid, number)
    except ProcessLookupError:
        pass
