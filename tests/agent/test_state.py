"""Atomic files, the applications copy with its diff and modes, the token
record, status."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from compass.agent.graphql import ServerError
from compass.agent.state import (
    Change,
    Status,
    atomic_write,
    read_status,
    read_used_token,
    record_used_token,
    token_digest,
    write_applications,
    write_status,
)

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def _app(app_id: str, name: str, **extra: object) -> dict:
    return {"id": app_id, "name": name, "bundles": {"totalCount": 0, "data": []}, **extra}


def test_atomic_write_replaces_whole_files_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "file.json"
    atomic_write(target, b"one")
    atomic_write(target, b"two", mode=0o600)
    assert target.read_bytes() == b"two"
    assert target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["file.json"]


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "file.json"
    atomic_write(target, b"good")

    def broken(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("compass.agent.state.os.replace", broken)
    with pytest.raises(OSError):
        atomic_write(target, b"half")
    assert target.read_bytes() == b"good"
    assert [p.name for p in tmp_path.iterdir()] == ["file.json"]


def test_applications_are_diffed_written_and_removed(tmp_path: Path) -> None:
    first = write_applications(tmp_path, "rt", [_app("a1", "shop"), _app("a2", "bank")], NOW)
    assert sorted(first, key=lambda c: c.id) == [
        Change("added", "a1", "shop"),
        Change("added", "a2", "bank"),
    ]
    stored = json.loads((tmp_path / "applications" / "a1.json").read_text())
    assert stored == _app("a1", "shop")
    assert list(stored) == sorted(stored)

    assert write_applications(tmp_path, "rt", [_app("a1", "shop"), _app("a2", "bank")], NOW) == []

    changes = write_applications(
        tmp_path, "rt", [_app("a1", "shop", description="new"), _app("a3", "crm")], NOW
    )
    assert sorted(changes, key=lambda c: c.id) == [
        Change("updated", "a1", "shop"),
        Change("removed", "a2", "bank"),
        Change("added", "a3", "crm"),
    ]
    files = sorted(p.name for p in (tmp_path / "applications").iterdir())
    assert files == ["a1.json", "a3.json", "index.json"]
    index = json.loads((tmp_path / "applications" / "index.json").read_text())
    assert index == {
        "runtime_id": "rt",
        "synced_at": "2030-01-02T03:04:05+00:00",
        "applications": [{"id": "a3", "name": "crm"}, {"id": "a1", "name": "shop"}],
    }


def test_a_damaged_file_counts_as_absent_and_is_rewritten(tmp_path: Path) -> None:
    write_applications(tmp_path, "rt", [_app("a1", "shop")], NOW)
    (tmp_path / "applications" / "a1.json").write_text("{not json")
    assert write_applications(tmp_path, "rt", [_app("a1", "shop")], NOW) == [
        Change("added", "a1", "shop")
    ]
    assert json.loads((tmp_path / "applications" / "a1.json").read_text())["name"] == "shop"


@pytest.mark.parametrize("bad_id", ["../escape", "index", ".hidden", "a/b", ""])
def test_application_ids_that_are_no_file_names_are_refused(tmp_path: Path, bad_id: str) -> None:
    with pytest.raises(ServerError):
        write_applications(tmp_path, "rt", [_app(bad_id, "x")], NOW)


def test_token_record_holds_a_digest_only(tmp_path: Path) -> None:
    assert read_used_token(tmp_path) is None
    record_used_token(tmp_path, token_digest("secret-token"), NOW)
    assert read_used_token(tmp_path) == token_digest("secret-token")
    assert "secret-token" not in (tmp_path / "token.json").read_text()


def test_status_round_trip(tmp_path: Path) -> None:
    write_status(tmp_path, Status(runtime_id="rt", pid=42, state="refused", last_error="no"))
    assert read_status(tmp_path) == {
        "state": "refused",
        "runtime_id": "rt",
        "pid": 42,
        "certificate_expires_at": None,
        "last_sync_at": None,
        "last_sync_result": None,
        "applications": None,
        "last_error": "no",
        "updated_at": None,
        "instance_auths": {},
        "instance_auths_error": None,
        "subscription": None,
    }


def _with_auths(app_id: str, name: str, *auths: dict) -> dict:
    bundle = {"id": "b1", "name": "orders", "instanceAuths": list(auths)}
    return {"id": app_id, "name": name, "bundles": {"totalCount": 1, "data": [bundle]}}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_credential_changes_are_updates_and_files_are_private(tmp_path: Path) -> None:
    pending = {"id": "ia1", "status": {"condition": "PENDING"}, "auth": None}
    succeeded = {
        "id": "ia1",
        "status": {"condition": "SUCCEEDED"},
        "auth": {"credential": {"username": "u", "password": "p"}},
    }
    write_applications(tmp_path, "rt", [_with_auths("a1", "shop", pending)], NOW)
    folder = tmp_path / "applications"
    assert _mode(folder) == 0o700
    assert _mode(folder / "a1.json") == 0o600 and _mode(folder / "index.json") == 0o600

    changes = write_applications(tmp_path, "rt", [_with_auths("a1", "shop", succeeded)], NOW)
    assert changes == [Change("updated", "a1", "shop", credentials=True)]
    stored = json.loads((folder / "a1.json").read_text())
    assert stored["bundles"]["data"][0]["instanceAuths"] == [succeeded]
    assert _mode(folder / "a1.json") == 0o600

    renamed = {**_with_auths("a1", "shop", succeeded), "description": "new"}
    assert write_applications(tmp_path, "rt", [renamed], NOW) == [
        Change("updated", "a1", "shop", credentials=False)
    ]


def test_files_of_an_older_agent_are_made_private(tmp_path: Path) -> None:
    folder = tmp_path / "applications"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    (folder / "a1.json").write_text(json.dumps(_app("a1", "shop")))
    os.chmod(folder / "a1.json", 0o644)
    assert write_applications(tmp_path, "rt", [_app("a1", "shop")], NOW) == []
    assert _mode(folder) == 0o700 and _mode(folder / "a1.json") == 0o600
