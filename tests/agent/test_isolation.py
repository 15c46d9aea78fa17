"""The agent is an external client: no module of compass/agent may import the
rest of compass, directly or lazily inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

AGENT = Path(__file__).resolve().parents[2] / "compass" / "agent"


def _imported_modules(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against compass.agent.<module>
                package = ["compass", "agent", *path.relative_to(AGENT).parent.parts]
                base = package[: len(package) - node.level + 1]
                names.append(".".join([*base, node.module] if node.module else base))
            else:
                names.append(node.module or "")
    return names


def test_agent_imports_nothing_from_the_rest_of_compass() -> None:
    modules = sorted(AGENT.rglob("*.py"))
    assert len(modules) >= 8
    offending = [
        f"{path.relative_to(AGENT)}: {name}"
        for path in modules
        for name in _imported_modules(path)
        if (name == "compass" or name.startswith("compass."))
        and not (name == "compass.agent" or name.startswith("compass.agent."))
    ]
    assert offending == []
