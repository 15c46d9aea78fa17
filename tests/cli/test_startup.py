"""What starting costs: Alembic only when the schema is behind, migrations of
replicas starting together one after the other, and commands that import only
what they use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from compass import migrate
from compass.config import Settings
from tests.cli.conftest import COMMAND_TIMEOUT, clean_env, run_compass

HEAVY_MODULES = [
    "alembic",
    "compass.app",
    "compass.domain.tables",
    "compass.resolvers.schema",
    "compass.server",
    "sqlmodel",
    "strawberry",
    "uvicorn",
]


def _python(code: str, *args: str) -> dict:
    """Runs `code` in a fresh interpreter; it prints its findings as JSON on the last line."""
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        env=clean_env(),
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


LOADED = f"""
import json, sys
print(json.dumps(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules)))
"""


def test_importing_the_cli_and_asking_for_help_loads_nothing_heavy():
    help_run = (
        "from compass.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    )
    assert _python("import compass.cli" + LOADED) == []
    assert _python(help_run + LOADED) == []
    assert (
        _python(help_run + "\nimport json, sys\nprint(json.dumps('httpx' in sys.modules))") is False
    )


def test_minting_a_token_loads_nothing_heavy(served: list[str]):
    code = (
        "import sys\nfrom compass.cli import main\ntry:\n    main(sys.argv[1:])\n"
        "except SystemExit as exit:\n    assert exit.code == 0, exit.code\n" + LOADED
    )
    assert _python(code, "token", *served) == []
    added = run_compass("tenant", "add", "--name", "Acme", "--external-id", "acme", *served)
    assert added.returncode == 0, added.stderr
    # Looking the tenant up in the database takes core SQL, not the ORM models.
    assert _python(code, "token", "--tenant", "acme", *served) == []


def test_a_current_schema_is_not_handed_to_alembic(settings: Settings):
    code = (
        "import sys\nfrom compass import migrate\nfrom compass.config import Settings\n"
        "migrate.upgrade(Settings(data_dir=sys.argv[1], database_url=sys.argv[2] or None))\n"
        + LOADED
    )
    loaded = _python(code, str(settings.data_dir), settings.database_url or "")
    assert "alembic" not in loaded


def test_heads_read_from_the_files_are_alembic_heads(settings: Settings):
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config(settings))
    assert migrate.head_revisions() == set(script.get_heads())


def test_replicas_migrating_a_new_postgresql_database_at_once_both_succeed(
    tmp_path: Path, postgres_url: str
):
    replicas = [
        subprocess.Popen(
            [sys.executable, "-m", "compass.cli", "db", "upgrade", "--data-dir", str(tmp_path / n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(COMPASS_DATABASE_URL=postgres_url),
        )
        for n in ("a", "b")
    ]
    try:
        outcomes = [replica.communicate(timeout=COMMAND_TIMEOUT) for replica in replicas]
    finally:
        for replica in replicas:
            if replica.poll() is None:
                replica.kill()
                replica.wait(timeout=COMMAND_TIMEOUT)
    for replica, (_, stderr) in zip(replicas, outcomes, strict=True):
        assert replica.returncode == 0, stderr
    current = run_compass("db", "current", env=clean_env(COMPASS_DATABASE_URL=postgres_url))
    assert current.stdout.strip().endswith("(head)"), current
