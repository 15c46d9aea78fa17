"""An app under uvicorn for the tests that need a real listener."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

__all__ = ["serving"]

START_TIMEOUT = 60.0


@contextmanager
def serving(app: Any, **options: Any) -> Iterator[str]:
    """`app` (its lifespan included) under uvicorn in a thread of its own, on a
    loopback socket bound here; yields its base URL, and stops and joins the
    server even when the test fails. `options` go to `uvicorn.Config`."""
    listening = socket.create_server(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_config=None, **options))
    thread = threading.Thread(target=server.run, args=([listening],), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT)
        listening.close()
