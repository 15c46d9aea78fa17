"""The hook gets the state directory last; its failure is reported, not raised."""

from __future__ import annotations

import sys
from pathlib import Path

from compass.agent.hook import run_hook

WRITE_ARGUMENTS = "import sys, pathlib; pathlib.Path(sys.argv[1]).write_text(repr(sys.argv[2:]))"


async def test_hook_runs_with_the_state_dir_as_last_argument(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    ok = await run_hook([sys.executable, "-c", WRITE_ARGUMENTS, str(out), "x"], tmp_path / "s")
    assert ok
    assert out.read_text() == repr(["x", str(tmp_path / "s")])


async def test_failing_missing_and_slow_hooks_return_false(tmp_path: Path) -> None:
    assert not await run_hook([sys.executable, "-c", "raise SystemExit(3)"], tmp_path)
    assert not await run_hook([str(tmp_path / "no-such-command")], tmp_path)
    slow = [sys.executable, "-c", "import time; time.sleep(30)"]
    assert not await run_hook(slow, tmp_path, timeout=0.5)
