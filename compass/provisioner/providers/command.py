"""The `command` provider: an executable of the operator's choosing does the work.

It gets one JSON object on stdin and answers with its exit status, so any
infrastructure (a script around kind, Terraform, a VM) plugs in without
changing the server. The contract is in the README ("The command provider").
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from pathlib import Path
from typing import Any

from compass.domain.system_auth.service import raw_token
from compass.provisioner.providers import ProviderError, RuntimeSpec

__all__ = ["CommandProvider"]

log = logging.getLogger("compass.provisioner")

_MESSAGE_LIMIT = 500


def request_document(action: str, spec: RuntimeSpec, token: str | None = None) -> dict[str, Any]:
    """The JSON the executable reads on stdin."""
    document: dict[str, Any] = {
        "action": action,
        "runtimeID": spec.runtime_id,
        "runtimeName": spec.name,
        "tenant": spec.tenant_id,
        "connectorURL": spec.connector_url,
        "clusterConfig": spec.cluster_config,
        "kymaConfig": spec.kyma_config,
        "agentConfig": spec.agent_config,
    }
    if token is not None:
        document["token"] = token
        document["rawEncoded"] = raw_token(token, spec.connector_url)[1]
    return document


def _last_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1][:_MESSAGE_LIMIT] if lines else ""


class CommandProvider:
    name = "command"

    def __init__(self, executable: Path | None, timeout: float) -> None:
        self._executable = executable
        self._timeout = timeout

    async def provision(self, spec: RuntimeSpec, token: str) -> None:
        await self._run(request_document("provision", spec, token))

    async def deprovision(self, spec: RuntimeSpec) -> None:
        await self._run(request_document("deprovision", spec))

    async def reconnect(self, spec: RuntimeSpec, token: str) -> None:
        await self._run(request_document("reconnect", spec, token))

    async def is_alive(self, spec: RuntimeSpec) -> bool:
        try:
            await self._run(request_document("status", spec))
        except ProviderError:
            return False
        return True

    async def _run(self, document: dict[str, Any]) -> None:
        if self._executable is None:
            raise ProviderError(
                "no command provider is configured: set COMPASS_PROVISIONER_COMMAND"
            )
        action = document["action"]
        try:
            process = await asyncio.create_subprocess_exec(
                str(self._executable),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as error:
            raise ProviderError(f"cannot run {self._executable}: {error.strerror}") from error
        try:
            _out, stderr = await asyncio.wait_for(
                process.communicate(json.dumps(document).encode()), self._timeout
            )
        except TimeoutError as error:
            _kill_group(process.pid)
            await process.wait()
            raise ProviderError(
                f"{self._executable} {action} did not finish within {self._timeout:g} s"
            ) from error
        if process.returncode != 0:
            detail = _last_line(stderr)
            raise ProviderError(
                f"{self._executable} {action} exited with status {process.returncode}"
                + (f": {detail}" if detail else "")
            )
        log.info("command provider: %s of runtime %s done", action, document["runtimeID"])


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
