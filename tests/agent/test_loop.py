"""The run loop in process, against a port where nothing listens: backoff that
a stop request ends at once, the files left alone, waiting for a token."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from compass.agent.credentials import store_credentials
from compass.agent.loop import Agent
from compass.agent.settings import load_settings
from compass.agent.state import write_applications
from tests.agent.pki import issued
from tests.e2e.server import free_port

DEADLINE = 30.0


async def _until(agent_dir: Path, state: str) -> dict:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        try:
            status = json.loads((agent_dir / "status.json").read_text())
        except (OSError, ValueError):
            status = {}
        if status.get("state") == state:
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"no state {state} within {DEADLINE:.0f} s: {status}")


async def test_unreachable_server_backs_off_keeps_files_and_stops_on_request(
    tmp_path: Path,
) -> None:
    closed = f"https://127.0.0.1:{free_port()}"
    store_credentials(
        tmp_path,
        replace(
            issued(),
            director_url=f"{closed}/director/graphql",
            secured_connector_url=f"{closed}/connector/graphql",
        ),
    )
    write_applications(tmp_path, "rt", [{"id": "a1", "name": "shop"}], datetime.now(UTC))
    stored = (tmp_path / "applications" / "a1.json").read_bytes()
    settings = load_settings(runtime_id="rt", state_dir=str(tmp_path), max_backoff="60")
    stop = asyncio.Event()
    running = asyncio.create_task(Agent(settings, lambda: settings, stop).run())

    status = await _until(tmp_path, "unreachable")
    assert "All connection attempts failed" in status["last_error"]
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.wait_for(running, timeout=DEADLINE)  # no waiting out the backoff

    assert (tmp_path / "applications" / "a1.json").read_bytes() == stored
    assert json.loads((tmp_path / "status.json").read_text())["state"] == "unreachable"


async def test_without_certificate_or_token_the_agent_waits_for_one(tmp_path: Path) -> None:
    config = tmp_path / "agent.json"
    config.write_text(json.dumps({"runtime_id": "rt", "state_dir": str(tmp_path / "state")}))
    settings = load_settings(config=str(config))
    settings.state_dir.mkdir()
    stop = asyncio.Event()
    running = asyncio.create_task(
        Agent(settings, lambda: load_settings(config=str(config)), stop).run()
    )

    await _until(settings.state_dir, "waiting_for_token")
    # The provisioner writes a token: the agent tries to pair (nothing listens).
    connector = f"http://127.0.0.1:{free_port()}/connector/graphql"
    content = {"runtime_id": "rt", "state_dir": str(settings.state_dir), "token": "t"}
    config.write_text(json.dumps({**content, "connector_url": connector}))
    status = await _until(settings.state_dir, "unreachable")
    assert connector in status["last_error"]
    stop.set()
    await asyncio.wait_for(running, timeout=DEADLINE)
    assert not (settings.state_dir / "token.json").exists()  # the token was not spent
