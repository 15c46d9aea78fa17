"""The `local` provider: the runtime is a directory under the data dir, and its
agent a `compass agent` process that the server supervises.

The agent's configuration file is the channel to the agent: provisioning
writes it with the connector URL, runtime ID, tenant and one-time token;
reconnecting rewrites it with a new token, which a refused agent picks up.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

from compass.pki.files import write_private_file
from compass.provisioner.providers import ProviderError, RuntimeSpec
from compass.provisioner.supervisor import AgentFiles, AgentSupervisor, is_agent_process

__all__ = ["LocalProvider", "write_private_json"]

STOP_WAIT = 20.0


def write_private_json(path: Path, document: dict[str, Any]) -> None:
    """Atomically, mode 0600: the file holds a one-time token."""
    write_private_file(path, json.dumps(document, indent=2).encode())


class LocalProvider:
    name = "local"

    def __init__(self, supervisor: AgentSupervisor) -> None:
        self._supervisor = supervisor

    def _agent_document(self, spec: RuntimeSpec, files: AgentFiles, token: str) -> dict[str, Any]:
        agent = spec.agent_config
        return {
            "connector_url": spec.connector_url,
            "token": token,
            "runtime_id": spec.runtime_id,
            "tenant": spec.tenant_id,
            "state_dir": str(files.state_dir),
            "sync_interval": agent.get("sync_interval"),
            "events_url": agent.get("events_url"),
            "console_url": agent.get("console_url"),
        }

    async def provision(self, spec: RuntimeSpec, token: str) -> None:
        files = self._supervisor.files(spec.runtime_id)
        try:
            await asyncio.to_thread(
                write_private_json, files.config, self._agent_document(spec, files, token)
            )
        except OSError as error:
            raise ProviderError(f"cannot write {files.config}: {error.strerror}") from error
        await self._supervisor.supervise(spec.runtime_id, True)

    async def reconnect(self, spec: RuntimeSpec, token: str) -> None:
        files = self._supervisor.files(spec.runtime_id)
        if not files.config.exists():
            raise ProviderError(f"runtime {spec.runtime_id} has no local agent configuration")
        await self.provision(spec, token)

    async def deprovision(self, spec: RuntimeSpec) -> None:
        await self._supervisor.supervise(spec.runtime_id, False)
        if not await self._supervisor.wait_stopped(spec.runtime_id, STOP_WAIT):
            raise ProviderError(f"the agent of runtime {spec.runtime_id} did not stop")
        directory = self._supervisor.files(spec.runtime_id).directory
        await asyncio.to_thread(shutil.rmtree, directory, True)

    async def is_alive(self, spec: RuntimeSpec) -> bool:
        pid = self._supervisor.agent_pid(spec.runtime_id)
        files = self._supervisor.files(spec.runtime_id)
        return pid is not None and is_agent_process(pid, files)
