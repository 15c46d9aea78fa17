"""Files in the state directory, each written atomically (temporary file in the
same directory, fsync, `os.replace`), so a reader or a crash never sees half a
file and the last good configuration survives any failure:

- `applications/<id>.json`, `applications/index.json`: what the runtime should
  run, the runtime's bundle instance auths (credentials) included; so the
  folder is 0700 and its files 0600;
- `status.json`: how the agent is doing (read by `compass agent status`);
- `token.json`: the SHA-256 of the last one-time token used, never the token.

`instance_auths` keeps the requests for credentials (`instance-auths.json`,
`instance-auths.state.json`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from compass.agent.graphql import ServerError

__all__ = [
    "Change",
    "Status",
    "atomic_write",
    "json_bytes",
    "read_applications",
    "read_status",
    "read_used_token",
    "record_used_token",
    "rfc3339",
    "token_digest",
    "write_applications",
    "write_status",
]

APPLICATIONS, INDEX, STATUS, TOKEN = "applications", "index.json", "status.json", "token.json"
PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600  # the applications folder holds credentials
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as sink:
            sink.write(data)
            sink.flush()
            os.fsync(sink.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True).encode() + b"\n"


def rfc3339(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def read_used_token(directory: Path) -> str | None:
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        return json.loads((directory / TOKEN).read_text())["sha256"]
    return None


def record_used_token(directory: Path, digest: str, at: datetime) -> None:
    atomic_write(directory / TOKEN, json_bytes({"sha256": digest, "used_at": rfc3339(at)}))


@dataclass
class Status:
    """The body of status.json; `state` is one of the STATES."""

    runtime_id: str
    pid: int
    state: str = "connecting"
    certificate_expires_at: str | None = None
    last_sync_at: str | None = None
    last_sync_result: str | None = None
    applications: int | None = None
    last_error: str | None = None
    updated_at: str | None = None
    # Per entry of instance-auths.json: auth_id, bundle_id, application_id,
    # condition, last_error; and what keeps the file from being used, if anything.
    instance_auths: dict[str, dict[str, Any]] = field(default_factory=dict)
    instance_auths_error: str | None = None
    # The live subscription: None until connected (and after a refusal).
    subscription: str | None = None

    STATES = ("connected", "connecting", "waiting_for_token", "refused", "unreachable")
    SUBSCRIPTION_STATES = ("active", "reconnecting", "unavailable")


def write_status(directory: Path, status: Status) -> None:
    atomic_write(directory / STATUS, json_bytes(asdict(status)))


def read_status(directory: Path) -> dict[str, Any]:
    """Raises OSError or ValueError when there is no readable status."""
    content = json.loads((directory / STATUS).read_text())
    if not isinstance(content, dict):
        raise ValueError("status.json does not hold an object")
    return content


@dataclass(frozen=True)
class Change:
    kind: str  # "added", "updated" or "removed"
    id: str
    name: str
    credentials: bool = False  # an update that touched the instance auths


def _instance_auths(application: dict[str, Any]) -> dict[Any, Any]:
    bundles = (application.get("bundles") or {}).get("data") or []
    return {
        bundle.get("id"): bundle.get("instanceAuths")
        for bundle in bundles
        if isinstance(bundle, dict) and bundle.get("instanceAuths")
    }


def _file_name(application_id: Any) -> str:
    if not isinstance(application_id, str) or not _SAFE_ID.match(application_id):
        raise ServerError(f"an application ID is not usable as a file name: {application_id!r}")
    if f"{application_id}.json" == INDEX:
        raise ServerError("an application ID collides with the index file")
    return f"{application_id}.json"


def _make_private(path: Path, mode: int) -> None:
    if path.stat().st_mode & 0o777 != mode:
        os.chmod(path, mode)


def read_applications(directory: Path) -> dict[str, dict[str, Any]]:
    """The applications stored by the last sync; unreadable files count as absent."""
    found: dict[str, dict[str, Any]] = {}
    folder = directory / APPLICATIONS
    if not folder.is_dir():
        return found
    for path in folder.glob("*.json"):
        if path.name == INDEX or path.name.startswith("."):
            continue
        with contextlib.suppress(OSError, ValueError):
            content = json.loads(path.read_text())
            if isinstance(content, dict) and content.get("id") == path.stem:
                found[path.stem] = content
    return found


def _changes(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> list[Change]:
    changes = [Change("removed", i, str(before[i].get("name"))) for i in before if i not in after]
    for application_id, application in after.items():
        if application_id not in before:
            changes.append(Change("added", application_id, str(application.get("name"))))
        elif before[application_id] != application:
            credentials = _instance_auths(before[application_id]) != _instance_auths(application)
            name = str(application.get("name"))
            changes.append(Change("updated", application_id, name, credentials))
    return changes


def write_applications(
    directory: Path, runtime_id: str, applications: list[dict[str, Any]], synced_at: datetime
) -> list[Change]:
    """Store one file per application and the index; delete the files of
    applications no longer there. Returns what changed since the last sync."""
    folder = directory / APPLICATIONS
    folder.mkdir(mode=PRIVATE_DIR, exist_ok=True)
    _make_private(folder, PRIVATE_DIR)
    current = {application["id"]: application for application in applications}
    names = {application_id: _file_name(application_id) for application_id in current}
    # JSON round trip, so comparisons see what a file would hold.
    current = json.loads(json.dumps(current))
    before = read_applications(directory)
    changes = _changes(before, current)
    for application_id, application in current.items():
        if before.get(application_id) != application:
            atomic_write(folder / names[application_id], json_bytes(application), PRIVATE_FILE)
        else:  # written by an agent that kept no credentials there
            _make_private(folder / names[application_id], PRIVATE_FILE)
    for change in changes:
        if change.kind == "removed":
            (folder / f"{change.id}.json").unlink(missing_ok=True)
    index = {
        "runtime_id": runtime_id,
        "synced_at": rfc3339(synced_at),
        "applications": sorted(
            ({"id": a["id"], "name": a.get("name")} for a in current.values()),
            key=lambda entry: (str(entry["name"]), entry["id"]),
        ),
    }
    atomic_write(folder / INDEX, json_bytes(index), PRIVATE_FILE)
    return changes
