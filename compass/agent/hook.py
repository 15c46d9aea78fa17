"""The operator's command run after the configuration changed, with the state
directory as its last argument. It is how the runtime side applies what the
agent wrote; a failing hook is logged and the agent goes on (the next change
runs it again)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

__all__ = ["HOOK_TIMEOUT", "run_hook"]

HOOK_TIMEOUT = 120.0
log = logging.getLogger(__name__)


async def run_hook(command: list[str], state_dir: Path, timeout: float = HOOK_TIMEOUT) -> bool:
    """True when the hook ran and exited with 0."""
    arguments = [*command, str(state_dir)]
    try:
        process = await asyncio.create_subprocess_exec(*arguments)
    except OSError as error:
        log.error("hook %s could not start: %s", command[0], error.strerror or error)
        return False
    try:
        code = await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        log.error("hook %s killed after %.0f s", command[0], timeout)
        return False
    if code != 0:
        log.error("hook %s exited with status %s", command[0], code)
        return False
    log.info("hook %s done", command[0])
    return True
