"""A command-provider executable for tests: it records every request it gets
and answers with the exit status the test chose for that action."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["RecordingCommand"]

_SCRIPT = """#!{python}
import json, pathlib, sys
folder = pathlib.Path({folder!r})
request = json.load(sys.stdin)
action = request["action"]
count = len(list(folder.glob(action + "-*.json")))
(folder / f"{{action}}-{{count}}.json").write_text(json.dumps(request))
answer = folder / ("exit-" + action)
if answer.exists():
    code, _, message = answer.read_text().partition(" ")
    print("working on it", file=sys.stderr)
    print(message, file=sys.stderr)
    sys.exit(int(code))
"""


class RecordingCommand:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "provider.py"
        self.path.write_text(_SCRIPT.format(python=sys.executable, folder=str(folder)))
        self.path.chmod(0o755)

    def fail(self, action: str, code: int, message: str) -> None:
        (self.folder / f"exit-{action}").write_text(f"{code} {message}")

    def requests(self, action: str) -> list[dict[str, Any]]:
        files = sorted(
            self.folder.glob(f"{action}-*.json"), key=lambda p: int(p.stem.split("-")[1])
        )
        return [json.loads(path.read_text()) for path in files]
